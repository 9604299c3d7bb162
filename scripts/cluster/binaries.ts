import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";

/** Absolute paths of the server binaries the cluster runs. */
export interface Binaries {
  pgBin: string; // folder holding initdb, pg_ctl, pg_basebackup, pg_isready, postgres
  redisServer: string;
}

/**
 * PostgreSQL: the highest /usr/lib/postgresql/<v>/bin (Debian layout), else the folder of
 * `pg_ctl` on PATH (/usr/bin/pg_* on Debian are wrappers that pick a cluster, so they come last).
 */
export function findBinaries(): Binaries {
  const pgBin = findPgBin();
  requireExtensions(pgBin);
  return { pgBin, redisServer: which("redis-server") ?? fail("redis-server not found on PATH") };
}

/**
 * Extensions the migrations create (hll: the unique-visitor sketches), checked before any node
 * starts so a missing package is one line, not a failed migration on every shard. Debian layout
 * only; elsewhere the migration's own error says it.
 */
function requireExtensions(pgBin: string): void {
  const version = /\/usr\/lib\/postgresql\/([\d.]+)\/bin$/.exec(pgBin)?.[1];
  if (version && !existsSync(`/usr/share/postgresql/${version}/extension/hll.control`)) {
    fail(`the PostgreSQL extension hll is not installed: apt-get install postgresql-${version}-hll (unique-visitor counts use it)`);
  }
}

function findPgBin(): string {
  const base = "/usr/lib/postgresql";
  if (existsSync(base)) {
    const versions = readdirSync(base)
      .filter((v) => /^\d+(\.\d+)?$/.test(v) && existsSync(join(base, v, "bin", "pg_ctl")))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(base, versions[0], "bin");
  }
  const pgCtl = which("pg_ctl");
  if (pgCtl) return pgCtl.slice(0, pgCtl.lastIndexOf("/"));
  return fail("PostgreSQL binaries not found (looked in /usr/lib/postgresql/*/bin and PATH)");
}

function which(cmd: string): string | null {
  return Bun.which(cmd);
}

function fail(message: string): never {
  throw new Error(message);
}
