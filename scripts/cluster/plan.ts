import { join } from "node:path";
import type { Binaries } from "./binaries";
import { nodePort, ROLES, type Role } from "./options";
import type { ClusterState, NodeState } from "./state";

/** The nodes a cluster of `shards` shards consists of, before anything runs. */
export function planState(args: { name: string; dir: string; nodesDir?: string; shards: number; basePort: number; fast: boolean; binaries: Binaries }): ClusterState {
  const nodes: NodeState[] = [];
  for (let shard = 0; shard < args.shards; shard++) {
    for (const role of ROLES) nodes.push(planNode(args.nodesDir ?? args.dir, args.basePort, shard, role));
  }
  return { ...args, nodes, updatedAt: new Date().toISOString() };
}

function planNode(clusterDir: string, basePort: number, shard: number, role: Role): NodeState {
  const port = nodePort(basePort, shard, role);
  const dir = join(clusterDir, `shard${shard}`, role);
  return {
    shard,
    role,
    port,
    pid: null,
    dir,
    dataDir: role === "redis" ? dir : join(dir, "data"),
    logFile: join(dir, role === "redis" ? "redis.log" : "postgres.log"),
    url: role === "redis" ? `redis://127.0.0.1:${port}` : `postgres://postgres@127.0.0.1:${port}/shorten`,
    start: null,
  };
}
