import { join } from "node:path";
import type { Binaries } from "./binaries";
import { nodePort, ROLES, type Role } from "./options";
import type { ClusterState, NodeState } from "./state";

/** The nodes a cluster of `shards` shards consists of, before anything runs. */
export function planState(args: { name: string; dir: string; nodesDir?: string; shards: number; basePort: number; fast: boolean; binaries: Binaries }): ClusterState {
  const nodes = planShards(args.nodesDir ?? args.dir, args.basePort, 0, args.shards);
  return { ...args, nodes, updatedAt: new Date().toISOString() };
}

/** The nodes of shards `from` .. `to - 1`: a new cluster's, or those a grown one adds. */
export function planShards(nodesDir: string, basePort: number, from: number, to: number): NodeState[] {
  const nodes: NodeState[] = [];
  for (let shard = from; shard < to; shard++) {
    for (const role of ROLES) nodes.push(planNode(nodesDir, basePort, shard, role));
  }
  return nodes;
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
