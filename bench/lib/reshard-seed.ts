import { createHash } from "node:crypto";
import Redis from "ioredis";
import postgres from "postgres";
import { encodeBase62 } from "../../src/domain/base62";
import { HashRing } from "../../src/domain/ring";
import { isReservedCode, isShortCodeShape } from "../../src/domain/short-code";
import type { ShardUrls } from "./stack";

/** A seeded link and the shard its code lived on under the ring it was seeded with. */
export interface SeededLink {
  code: string;
  longUrl: string;
  shard: number;
}

/**
 * First id of the directly seeded links: 2^40 is a Snowflake timestamp 262 s after its epoch
 * (2026-01-01), so no instance generates these ids (theirs are ~2^56 and up), and their codes are
 * 7 characters where the instances' are 10: no collision either way.
 */
export const SEED_ID_BASE = 1n << 40n;
const BATCH = 5000;
/** Links generated, written and cached per step, so a million never sit in memory as rows at once. */
const CHUNK = 50_000;

export interface SeedOptions {
  /** Path segment of the long URLs (https://bench.example/<purpose>/<tag>/<k>); default "reshard". */
  purpose?: string;
  /** Write the url_index rows too (default true); the redirect benchmarks only read links. */
  index?: boolean;
  /** Also SET `l:<code>` → long URL on the code's shard Redis with this TTL (s), as a read would after a miss; default: nothing cached. */
  redisTtlSeconds?: number;
  /** Keep and return every SeededLink (default true); false returns [] and hands each chunk to onChunk only. */
  collect?: boolean;
  onChunk?: (links: readonly SeededLink[]) => void;
}

/**
 * `n` links written straight into the shards with multi-row INSERTs (the API would take minutes
 * for 100k), placed as the app places them under `ring`: the `links` row on the code's owner,
 * the `url_index` row (sha256 of the URL) on the URL's owner, then VACUUM ANALYZE. Written in
 * chunks of 50,000, all shards in parallel. Nothing is cached in Redis unless `redisTtlSeconds`
 * is given: then each code's long URL is SET on its shard's Redis too (pipelined).
 */
export async function seedDirect(shards: readonly ShardUrls[], members: readonly number[], n: number, tag: string, options: SeedOptions = {}): Promise<SeededLink[]> {
  const { purpose = "reshard", index: withIndex = true, collect = true } = options;
  const ring = new HashRing(members);
  const out: SeededLink[] = [];
  const redis = options.redisTtlSeconds === undefined ? null : shards.map((s) => new Redis(s.redis, { maxRetriesPerRequest: 2, enableAutoPipelining: false }));
  let k = 0n;
  let made = 0;
  let checked = false;
  try {
    await withPrimaries(shards, async (sqls) => {
      while (made < n) {
        const links = new Map<number, Array<{ code: string; id: string; long_url: string }>>();
        const index = new Map<number, Array<{ url_hash: Buffer; long_url: string; code: string }>>();
        const push = <T>(m: Map<number, T[]>, shard: number, row: T) => (m.get(shard) ?? m.set(shard, []).get(shard)!).push(row);
        const chunk: SeededLink[] = [];
        for (; made < n && chunk.length < CHUNK; k++) {
          const id = SEED_ID_BASE + k;
          const code = encodeBase62(id);
          if (isReservedCode(code) || !isShortCodeShape(code)) continue;
          const longUrl = `https://bench.example/${purpose}/${tag}/${k}`;
          const shard = ring.shardFor(code);
          push(links, shard, { code, id: id.toString(), long_url: longUrl });
          if (withIndex) push(index, ring.shardFor(longUrl), { url_hash: createHash("sha256").update(longUrl).digest(), long_url: longUrl, code });
          chunk.push({ code, longUrl, shard });
          made++;
        }
        if (!checked && chunk.length > 0) {
          if (new URL(chunk[0]!.longUrl).href !== chunk[0]!.longUrl) throw new Error(`seed URL ${chunk[0]!.longUrl} is not in canonical form`);
          checked = true;
        }
        await Promise.all(
          sqls.map(async (sql, shard) => {
            const l = links.get(shard) ?? [];
            const u = index.get(shard) ?? [];
            for (let i = 0; i < l.length; i += BATCH) await sql`insert into links ${sql(l.slice(i, i + BATCH), "code", "id", "long_url")}`;
            for (let i = 0; i < u.length; i += BATCH) await sql`insert into url_index ${sql(u.slice(i, i + BATCH), "url_hash", "long_url", "code")}`;
            const r = redis?.[shard];
            if (r) {
              for (let i = 0; i < l.length; i += BATCH) {
                const p = r.pipeline();
                for (const row of l.slice(i, i + BATCH)) p.set(`l:${row.code}`, row.long_url, "EX", options.redisTtlSeconds!);
                const res = await p.exec();
                const failed = res?.find(([e]) => e !== null);
                if (failed) throw new Error(`seeding Redis of shard ${shard}: ${failed[0]!.message}`);
              }
            }
          }),
        );
        options.onChunk?.(chunk);
        if (collect) for (const link of chunk) out.push(link);
      }
      // As a bulk load is finished in production: planner statistics and the visibility map
      // up to date, so autovacuum does not wake up on these tables in the middle of a window.
      await Promise.all(sqls.map((sql) => sql`vacuum analyze links, url_index`));
    });
  } finally {
    for (const r of redis ?? []) r.disconnect();
  }
  return out;
}

export interface Placement {
  /** Rows per shard (links + url_index), shard order. */
  rows: number[];
  /** Rows whose ring owner is another shard (first few). */
  misplaced: string[];
  misplacedCount: number;
  /** Codes present in `links` on more than one shard. */
  duplicateCodes: number;
}

/** Every row of every primary against its owner under `members`. */
export async function placement(shards: readonly ShardUrls[], members: readonly number[]): Promise<Placement> {
  const ring = new HashRing(members);
  const result: Placement = { rows: [], misplaced: [], misplacedCount: 0, duplicateCodes: 0 };
  const seen = new Set<string>();
  const bad = (what: string) => {
    result.misplacedCount++;
    if (result.misplaced.length < 10) result.misplaced.push(what);
  };
  await withPrimaries(shards, async (sqls) => {
    for (const [shard, sql] of sqls.entries()) {
      const codes = await sql<{ code: string }[]>`select code from links`;
      const urls = await sql<{ long_url: string }[]>`select long_url from url_index`;
      result.rows.push(codes.length + urls.length);
      for (const { code } of codes) {
        if (ring.shardFor(code) !== shard) bad(`links ${code} on shard ${shard}`);
        if (seen.has(code)) result.duplicateCodes++;
        seen.add(code);
      }
      for (const { long_url } of urls) if (ring.shardFor(long_url) !== shard) bad(`url_index ${long_url} on shard ${shard}`);
    }
  });
  return result;
}

/** Sums of the mover's keyset checkpoints (catalog = shard 0's primary) of one migration, by step. */
export async function checkpointTotals(catalogUrl: string, migrationId: string): Promise<Record<string, { scanned: number; moved: number; done: number; tracks: number }>> {
  const sql = postgres(catalogUrl, { max: 1, onnotice: () => {} });
  try {
    const rows = await sql<{ step: string; scanned: string; moved: string; done: string; n: string }[]>`
      select step, sum(scanned)::text as scanned, sum(moved)::text as moved, count(*) filter (where done)::text as done, count(*)::text as n
      from reshard_checkpoints where migration_id = ${migrationId} group by step order by step`;
    return Object.fromEntries(rows.map((r) => [r.step, { scanned: Number(r.scanned), moved: Number(r.moved), done: Number(r.done), tracks: Number(r.n) }]));
  } finally {
    await sql.end({ timeout: 2 });
  }
}

async function withPrimaries<T>(shards: readonly ShardUrls[], fn: (sqls: postgres.Sql[]) => Promise<T>): Promise<T> {
  const sqls = shards.map((s) => postgres(s.primary, { max: 2, onnotice: () => {} }));
  try {
    return await fn(sqls);
  } finally {
    await Promise.all(sqls.map((s) => s.end({ timeout: 2 })));
  }
}
