import { readdir } from "node:fs/promises";
import { join } from "node:path";
import type postgres from "postgres";

/**
 * Versioned SQL migrations: `NNN_name.sql` files in `dir`, applied in file-name order, each one
 * once per database, recorded in `schema_migrations`. Everything runs in one transaction under a
 * transaction-scoped advisory lock, so two runners against the same primary (two server
 * instances booting, or the cluster tool and a server) serialise instead of racing, and a
 * failing file leaves nothing half-applied. Reads no environment; the caller owns the pool.
 *
 * @example const applied = await applyMigrations(sql, "migrations"); // ["001_links", ...] or []
 */
export async function applyMigrations(sql: postgres.Sql, dir: string): Promise<string[]> {
  const files = await migrationFiles(dir);
  return sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY}::bigint)`;
    // Created under the lock: two concurrent CREATE TABLE IF NOT EXISTS can still collide on the catalog.
    await tx`CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, applied_at timestamptz DEFAULT now())`;
    const rows = await tx<{ version: string }[]>`SELECT version FROM schema_migrations`;
    const done = new Set(rows.map((r) => r.version));
    const applied: string[] = [];
    for (const file of files) {
      if (done.has(file.version)) continue;
      // Simple-protocol query: a migration file may hold several statements.
      await tx.unsafe(await Bun.file(file.path).text());
      await tx`INSERT INTO schema_migrations (version) VALUES (${file.version})`;
      applied.push(file.version);
    }
    return applied;
  });
}

/** Migration files in `dir` (`001_links.sql` -> version `001_links`), sorted by version. */
export async function migrationFiles(dir: string): Promise<{ version: string; path: string }[]> {
  const names = (await readdir(dir)).filter((n) => VERSIONED.test(n)).sort();
  return names.map((n) => ({ version: n.slice(0, -".sql".length), path: join(dir, n) }));
}

const VERSIONED = /^\d+_[\w-]+\.sql$/;
// Arbitrary but fixed: every runner must agree on it. ("shorten" migration lock)
const MIGRATION_LOCK_KEY = "7271906481325790161";
