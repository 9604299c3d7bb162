import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import postgres from "postgres";
import { applyMigrations, migrationFiles } from "../../src/storage/migrate";
import { eventually, freshCode, freshId, shardUrls } from "../../harness/cluster";

// The cluster's real streaming replication and the migration runner, on every shard.
const MIGRATIONS = join(import.meta.dir, "../../migrations");

describe("replication and migrations on the local cluster", () => {
  const pools: postgres.Sql[] = [];
  const connect = (url: string) => {
    const sql = postgres(url, { max: 2, onnotice: () => {}, connect_timeout: 5 });
    pools.push(sql);
    return sql;
  };
  const shards = shardUrls().map((s) => ({ primary: connect(s.primary), replica: connect(s.replica) }));

  afterAll(async () => {
    await Promise.all(pools.map((p) => p.end({ timeout: 5 })));
  });

  test("a row written on each primary appears on its replica", async () => {
    await Promise.all(
      shards.map(async ({ primary, replica }) => {
        const code = freshCode("rep");
        const id = freshId();
        await primary`INSERT INTO links (code, id, long_url) VALUES (${code}, ${id.toString()}, ${`https://example.com/${code}`})`;
        const row = await eventually(async () => (await replica`SELECT id, long_url FROM links WHERE code = ${code}`)[0], `row ${code} on the replica`);
        expect(String(row.id)).toBe(id.toString());
        expect(row.long_url).toBe(`https://example.com/${code}`);
      }),
    );
  });

  test("a replica rejects writes", async () => {
    for (const { replica } of shards) {
      const code = freshCode("ro");
      const write = replica`INSERT INTO links (code, id, long_url) VALUES (${code}, ${freshId().toString()}, 'https://example.com/ro')`;
      await expect(write).rejects.toThrow("cannot execute INSERT in a read-only transaction");
    }
  });

  test("pg_is_in_recovery() is true on replicas and false on primaries", async () => {
    for (const { primary, replica } of shards) {
      expect((await primary`SELECT pg_is_in_recovery() AS r`)[0]!.r).toBe(false);
      expect((await replica`SELECT pg_is_in_recovery() AS r`)[0]!.r).toBe(true);
    }
  });

  test("every primary has each migration recorded exactly once, and re-applying is a no-op", async () => {
    const versions = (await migrationFiles(MIGRATIONS)).map((f) => f.version);
    expect(versions.length).toBeGreaterThan(0);
    for (const { primary } of shards) {
      const rows = await primary<{ version: string; n: number }[]>`SELECT version, count(*)::int AS n FROM schema_migrations GROUP BY version ORDER BY version`;
      expect(rows.map((r) => r.version)).toEqual(versions);
      expect(rows.every((r) => r.n === 1)).toBe(true);
      // Two runners at once: the advisory lock serialises them, and neither applies anything.
      expect(await Promise.all([applyMigrations(primary, MIGRATIONS), applyMigrations(primary, MIGRATIONS)])).toEqual([[], []]);
      const after = await primary<{ n: number }[]>`SELECT count(*)::int AS n FROM schema_migrations`;
      expect(after[0]!.n).toBe(versions.length);
    }
  });

  test("the schema reaches the replicas", async () => {
    for (const { replica } of shards) {
      const tables = await replica<{ t: string }[]>`SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`;
      expect(tables.map((r) => r.t)).toEqual(expect.arrayContaining(["links", "schema_migrations", "url_index"]));
    }
  });
});
