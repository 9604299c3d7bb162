import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Binaries } from "./binaries";
import type { MonitorPooler } from "./monitor-pooler";
import type { ClusterNetwork } from "./netns";
import type { Role } from "./options";

/** One server process of the cluster, as recorded in state.json. */
export interface NodeState {
  /** -1 for the HA engine's monitor. */
  shard: number;
  /** With an HA engine, primary and replica are the pair's places in the env contract, not who is primary now (the engine says that). */
  role: Role | "monitor";
  port: number;
  /** PID of the server (postmaster / redis-server) we started; null when we stopped it. */
  pid: number | null;
  /** The node's own folder: logs, pid file, unix socket. */
  dir: string;
  /** PostgreSQL data directory (PGDATA) or the Redis working dir. */
  dataDir: string;
  logFile: string;
  url: string;
  /** How to start it again with the same port and data: argv, run as `runAs` when set. */
  start: { argv: string[]; runAs: string | null } | null;
  /** Supervised by a pg_auto_failover keeper: `pid` is the keeper's process group, not a postmaster. */
  keeper?: boolean;
  /** Runs in a network namespace of its own, reached at `host` over the cluster's bridge (partition drills). */
  netns?: { netns: string; host: string; link: string };
}

/** Where the other nodes, the tooling and the app reach a node. */
export const hostOf = (node: NodeState): string => node.netns?.host ?? "127.0.0.1";

export interface ClusterState {
  name: string;
  /** Where state.json and the env file live. */
  dir: string;
  /** Where the nodes' data lives: `dir`, unless the postgres OS user cannot reach it (see exec.ts). */
  nodesDir?: string;
  shards: number;
  basePort: number;
  fast: boolean;
  /** Each shard's PostgreSQL pair managed by pg_auto_failover, with `monitor`; absent: plain streaming replicas. */
  engine?: "pg_auto_failover";
  monitor?: NodeState;
  /** pgbouncer between the keepers and the monitor (monitor-pooler.ts); absent without pgbouncer. */
  pooler?: MonitorPooler;
  /** The bridge that namespaced nodes hang off (ClusterOptions.netnsShards). */
  network?: ClusterNetwork;
  binaries: Binaries;
  nodes: NodeState[];
  updatedAt: string;
}

export const stateFile = (dir: string) => join(dir, "state.json");

export function hasState(dir: string): boolean {
  return existsSync(stateFile(dir));
}

/**
 * The saved state of the cluster in `dir` (e.g. process.env.SHORTEN_CLUSTER_DIR).
 *
 * @example const state = readState(".cluster/dev"); state.nodes.filter((n) => n.role === "primary")
 */
export function readState(dir: string): ClusterState {
  if (!hasState(dir)) throw new Error(`no cluster state at ${stateFile(dir)} (run \`bun run cluster up\` first)`);
  return JSON.parse(readFileSync(stateFile(dir), "utf8")) as ClusterState;
}

export function writeState(state: ClusterState): void {
  state.updatedAt = new Date().toISOString();
  writeJsonAtomic(stateFile(state.dir), state);
}

/** Temp file + rename, so a reader never sees half a file. */
export function writeJsonAtomic(file: string, value: unknown): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(tmp, file);
}

export function findNode(state: ClusterState, shard: number, role: Role): NodeState {
  const node = state.nodes.find((n) => n.shard === shard && n.role === role);
  if (!node) throw new Error(`cluster ${state.name} has no ${role} for shard ${shard} (shards: ${state.shards})`);
  return node;
}
