import { join, resolve } from "node:path";
import type { ClusterState } from "./state";

/** Options shared by `up`, `down`, `status` and `env`. Unset fields fall back to the saved state, then DEFAULTS. */
export interface ClusterOptions {
  name?: string;
  /** Above the saved count, `up` grows the cluster; below it, `up` refuses. */
  shards?: number;
  basePort?: number;
  /** fsync/synchronous_commit/full_page_writes off: for throwaway test clusters. */
  fast?: boolean;
  /** `up` of a new cluster: each shard's PostgreSQL pair under pg_auto_failover (automatic failover, synchronous replication); DEFAULTS.ha. An existing cluster keeps what it was made with. */
  ha?: boolean;
  /**
   * `up` of a new cluster under the engine, as root: these shards' PostgreSQL nodes each run in a
   * network namespace of their own, so that a drill can cut one off (scripts/cluster/netns.ts).
   */
  netnsShards?: number[];
  /** `down` only: delete the data as well. */
  wipe?: boolean;
  /** Folder that holds `.cluster/` and `migrations/`; the repository root by default. */
  root?: string;
  /** Called once the nodes' addresses are known (the env file's contents), before any node starts. */
  onPlanned?: (state: ClusterState) => void;
  /**
   * Called once every shard's primary takes writes and has the schema, before `up` resolves;
   * the env file is written by then. Under the engine, new standbys are created only once the
   * promise it returns settles (their pg_basebackup and the caller's start-up would share the
   * cores), and join while their primaries take writes without waiting for them.
   */
  onWritable?: (state: ClusterState) => Promise<unknown> | void;
  /**
   * Apply migrations/ to every primary (default). `npm start` leaves it to the server, which
   * applies them to every primary when it starts, so that they are not run twice before it is ready.
   */
  migrate?: boolean;
  /** Progress lines; silent when omitted. */
  log?: (line: string) => void;
}

export const DEFAULTS = { name: "dev", shards: 3, basePort: 7000, ha: true } as const;

export const REPO_ROOT = resolve(import.meta.dir, "../..");

export type Role = "redis" | "primary" | "replica";
export const ROLES: readonly Role[] = ["redis", "primary", "replica"];

const ROLE_OFFSET: Record<Role, number> = { redis: 0, primary: 1, replica: 2 };

/** Port layout: shard i uses basePort+10*i (+0 redis, +1 primary, +2 replica). */
export function nodePort(basePort: number, shard: number, role: Role): number {
  return basePort + 10 * shard + ROLE_OFFSET[role];
}

/** `.cluster/<name>` under root. The name is checked because `--wipe` deletes this folder. */
export function clusterDir(root: string, name: string): string {
  if (!/^[A-Za-z0-9_-]{1,40}$/.test(name)) throw new Error(`cluster name "${name}" must be 1-40 of [A-Za-z0-9_-]`);
  return join(root, ".cluster", name);
}

export function checkLayout(shards: number, basePort: number): void {
  if (!Number.isInteger(shards) || shards < 1 || shards > 64) throw new Error(`--shards must be an integer 1..64, got ${shards}`);
  if (!Number.isInteger(basePort) || basePort < 1024 || basePort + 10 * shards > 65535) {
    throw new Error(`--base-port must leave room for ${shards} shards below 65535 and be >= 1024, got ${basePort}`);
  }
}
