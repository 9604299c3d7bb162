import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { pairUrl } from "./ha-up";
import type { ClusterState } from "./state";

/**
 * The env contract (README, Configuration) for this cluster: DATABASE_NODES in primary,replica pairs per
 * shard, REDIS_NODES one per shard, both in shard order. Under pg_auto_failover both entries of a
 * shard name its two hosts (see pairUrl).
 */
export function clusterEnvVars(state: Pick<ClusterState, "nodes" | "shards" | "engine">): { DATABASE_NODES: string; REDIS_NODES: string } {
  const url = (shard: number, role: "primary" | "replica" | "redis") =>
    state.engine && role !== "redis" ? pairUrl(state, shard, role) : state.nodes.find((n) => n.shard === shard && n.role === role)!.url;
  const shards = Array.from({ length: state.shards }, (_, i) => i);
  return {
    DATABASE_NODES: shards.flatMap((i) => [url(i, "primary"), url(i, "replica")]).join(","),
    REDIS_NODES: shards.map((i) => url(i, "redis")).join(","),
  };
}

export function envLines(state: Pick<ClusterState, "nodes" | "shards" | "engine">): string[] {
  return Object.entries(clusterEnvVars(state)).map(([k, v]) => `${k}=${v}`);
}

/** Writes `<dir>/env` (dotenv format) so `bun --env-file .cluster/dev/env src/main.ts` works. */
export function writeEnvFile(state: ClusterState): string {
  const file = join(state.dir, "env");
  writeFileSync(file, `${envLines(state).join("\n")}\n`);
  return file;
}
