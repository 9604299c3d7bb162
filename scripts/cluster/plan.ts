import { join } from "node:path";
import type { Binaries } from "./binaries";
import { planPooler } from "./monitor-pooler";
import { planNetwork, planNodeNetns } from "./netns";
import { nodePort, ROLES, type Role } from "./options";
import type { ClusterState, NodeState } from "./state";

/** The nodes a cluster of `shards` shards consists of, before anything runs. */
export function planState(args: { name: string; dir: string; nodesDir?: string; shards: number; basePort: number; fast: boolean; binaries: Binaries; ha?: boolean; netnsShards?: number[] }): ClusterState {
  const { ha, netnsShards = [], ...rest } = args;
  const nodesDir = args.nodesDir ?? args.dir;
  const nodes = planShards(nodesDir, args.basePort, 0, args.shards, ha);
  if (!ha) {
    if (netnsShards.length > 0) throw new Error("network namespaces are for partition drills of HA pairs; they need the engine");
    return { ...rest, nodes, updatedAt: new Date().toISOString() };
  }
  const state: ClusterState = { ...rest, nodes, engine: "pg_auto_failover", monitor: planMonitor(nodesDir, args.basePort), pooler: planPooler(nodesDir, args.basePort), updatedAt: new Date().toISOString() };
  if (netnsShards.length === 0) return state;
  const network = planNetwork(args.basePort);
  for (const node of nodes.filter((n) => netnsShards.includes(n.shard) && n.role !== "redis")) {
    node.netns = planNodeNetns(network, args.basePort, node.shard, node.role === "primary" ? 0 : 1);
    node.url = node.url.replace("127.0.0.1", node.netns.host);
  }
  return { ...state, network };
}

/** The monitor takes shard 0's spare port (+9): one per cluster. */
function planMonitor(nodesDir: string, basePort: number): NodeState {
  const dir = join(nodesDir, "monitor");
  const port = basePort + 9;
  return { shard: -1, role: "monitor", port, pid: null, dir, dataDir: join(dir, "data"), logFile: join(dir, "keeper.log"), url: `postgres://autoctl_node@127.0.0.1:${port}/pg_auto_failover`, start: null, keeper: true };
}

/** The nodes of shards `from` .. `to - 1`: a new cluster's, or those a grown one adds. */
export function planShards(nodesDir: string, basePort: number, from: number, to: number, ha = false): NodeState[] {
  const nodes: NodeState[] = [];
  for (let shard = from; shard < to; shard++) {
    for (const role of ROLES) {
      const node = planNode(nodesDir, basePort, shard, role);
      nodes.push(ha && role !== "redis" ? { ...node, keeper: true, logFile: join(node.dir, "keeper.log") } : node);
    }
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
