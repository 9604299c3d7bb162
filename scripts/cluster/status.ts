import type { EngineNode } from "./ha-engine";
import { keeperName } from "./ha-engine";
import { poolerRunning } from "./monitor-pooler";
import { livePid } from "./node-control";
import { isPaused } from "./proc";
import type { ClusterState, NodeState } from "./state";

export interface NodeStatus {
  node: NodeState;
  pid: number | null;
  status: "up" | "paused" | "down";
}

export function clusterStatus(state: ClusterState): NodeStatus[] {
  return [...(state.monitor ? [state.monitor] : []), ...state.nodes].map((node) => {
    const pid = livePid(node);
    return { node, pid, status: pid === null ? "down" : isPaused(pid) ? "paused" : "up" };
  });
}

/**
 * One row per node. With pg_auto_failover, `engine` (the monitor's view, engineNodes) adds each
 * keeper's name and its reported and goal state (who is primary now is the engine's to say), and
 * for a standby how it replicates and how far behind it last reported.
 */
export function formatStatus(state: ClusterState, engine?: readonly EngineNode[] | null): string {
  const engineState = (node: NodeState) => {
    if (!node.keeper || node.role === "monitor") return node.keeper ? "monitor" : "";
    const seen = engine?.find((n) => n.name === keeperName(node));
    if (!seen) return engine === null ? "monitor unreachable" : "not registered";
    const role = seen.reported === seen.goal ? seen.reported : `${seen.reported} -> ${seen.goal}`;
    return /secondary|catchingup/.test(seen.reported) ? `${role} (${seen.replication}, ${seen.behindBytes} B behind)` : role;
  };
  const rows = clusterStatus(state).map(({ node, pid, status }) => [
    node.shard < 0 ? "-" : String(node.shard),
    node.keeper && node.role !== "monitor" ? keeperName(node) : node.role,
    String(node.port),
    pid === null ? "-" : String(pid),
    status,
    ...(state.engine ? [engineState(node)] : []),
    node.url,
  ]);
  const pooler = state.pooler;
  if (pooler) {
    const up = poolerRunning(pooler);
    rows.splice(1, 0, ["-", "pooler", String(pooler.port), up ? String(pooler.pid) : "-", up ? "up" : "down", ...(state.engine ? ["keepers -> monitor"] : []), `postgres://autoctl_node@127.0.0.1:${pooler.port}/pg_auto_failover`]);
  }
  const header = ["shard", "role", "port", "pid", "status", ...(state.engine ? ["engine state"] : []), "url"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [`cluster ${state.name} (${state.dir})${state.engine ? `, PostgreSQL pairs under ${state.engine}` : ""}`, fmt(header), ...rows.map(fmt)].join("\n");
}
