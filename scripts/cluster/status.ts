import { livePid } from "./node-control";
import { isPaused } from "./proc";
import type { ClusterState, NodeState } from "./state";

export interface NodeStatus {
  node: NodeState;
  pid: number | null;
  status: "up" | "paused" | "down";
}

export function clusterStatus(state: ClusterState): NodeStatus[] {
  return state.nodes.map((node) => {
    const pid = livePid(node);
    return { node, pid, status: pid === null ? "down" : isPaused(pid) ? "paused" : "up" };
  });
}

export function formatStatus(state: ClusterState): string {
  const rows = clusterStatus(state).map(({ node, pid, status }) =>
    [String(node.shard), node.role, String(node.port), pid === null ? "-" : String(pid), status, node.url],
  );
  const header = ["shard", "role", "port", "pid", "status", "url"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [`cluster ${state.name} (${state.dir})`, fmt(header), ...rows.map(fmt)].join("\n");
}
