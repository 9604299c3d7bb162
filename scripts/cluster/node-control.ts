import { isRoot, PG_OS_USER } from "./exec";
import { isKeeperOf, signalKeeper, startKeeper, stopKeeper } from "./ha-engine";
import type { Role } from "./options";
import { isInitialised, isPostmasterOf, pgPidFromFile, pgStartArgv, signalServer, startPostgres, stopPostgres } from "./postgres-node";
import { isPaused, signal } from "./proc";
import { isRedisOf, redisPidFromFile, redisStartArgv, startRedis, stopRedis } from "./redis-node";
import { findNode, writeState, type ClusterState, type NodeState } from "./state";

/**
 * Per-node control for fault tests, on the real processes. Every change is saved to
 * state.json, so `down` later stops whatever is running, including restarted nodes.
 *
 * @example
 *   const state = readState(process.env.SHORTEN_CLUSTER_DIR!);
 *   await stopNode(state, 0, "replica", "immediate");
 *   await startNode(state, 0, "replica"); // same port and data, back as a standby
 */

/** kill: SIGKILL (a crash). immediate: `pg_ctl stop -m immediate` / Redis SHUTDOWN NOSAVE. graceful: clean shutdown. */
export type StopMode = "kill" | "immediate" | "graceful";

/** PID of the node's live server: the recorded one, else the one its pid file names; null if down. */
export function livePid(node: NodeState): number | null {
  if (node.keeper) return isKeeperOf(node, node.pid) ? node.pid : null;
  if (node.role === "redis") return isRedisOf(node, node.pid) ? node.pid : redisPidFromFile(node);
  return isPostmasterOf(node, node.pid) ? node.pid : pgPidFromFile(node);
}

export function nodeAlive(node: NodeState): boolean {
  return livePid(node) !== null;
}

export function nodePaused(node: NodeState): boolean {
  const pid = livePid(node);
  return pid !== null && isPaused(pid);
}

export async function stopNode(state: ClusterState, shard: number, role: Role, mode: StopMode = "immediate"): Promise<void> {
  const node = findNode(state, shard, role);
  await stopNodeRecord(state, node, mode);
  writeState(state);
}

/** Stops one node without saving state (callers that stop many save once). */
export async function stopNodeRecord(state: ClusterState, node: NodeState, mode: StopMode): Promise<void> {
  const pid = livePid(node);
  if (node.keeper) await stopKeeper(state, node, mode);
  else if (pid !== null) {
    if (node.role === "redis") await stopRedis(node, pid, mode === "kill" ? "kill" : "graceful");
    else await stopPostgres(state.binaries.pgBin, node, pid, mode);
  }
  node.pid = null;
}

/** Starts a stopped node again with the same port and data; a running one is left alone. */
export async function startNode(state: ClusterState, shard: number, role: Role): Promise<NodeState> {
  const node = findNode(state, shard, role);
  await startNodeRecord(state, node);
  writeState(state);
  return node;
}

export async function startNodeRecord(state: ClusterState, node: NodeState): Promise<void> {
  const running = livePid(node);
  if (running !== null) {
    if (isPaused(running)) sendTo(node, "SIGCONT");
    node.pid = running;
    return;
  }
  if (node.keeper) {
    if (!isInitialised(node)) throw new Error(`${node.role} of shard ${node.shard} has no data in ${node.dataDir}; run clusterUp`);
    await startKeeper(state, node, null);
    return;
  }
  node.start ??= startSpec(state, node);
  if (node.role === "redis") {
    node.pid = await startRedis(node);
  } else {
    if (!isInitialised(node)) throw new Error(`${node.role} of shard ${node.shard} has no data in ${node.dataDir}; run clusterUp`);
    node.pid = await startPostgres(state.binaries.pgBin, node);
  }
}

export function startSpec(state: ClusterState, node: NodeState): NonNullable<NodeState["start"]> {
  if (node.role === "redis") return { argv: redisStartArgv(state.binaries.redisServer, node), runAs: null };
  return { argv: pgStartArgv(state.binaries.pgBin, node), runAs: isRoot() ? PG_OS_USER : null };
}

/**
 * SIGSTOP: the node hangs with its sockets open (connections neither fail nor answer).
 * For PostgreSQL the postmaster and all its children stop, so open backends hang too.
 */
export function pauseNode(state: ClusterState, shard: number, role: Role): void {
  sendTo(findNode(state, shard, role), "SIGSTOP");
}

export function resumeNode(state: ClusterState, shard: number, role: Role): void {
  sendTo(findNode(state, shard, role), "SIGCONT");
}

function sendTo(node: NodeState, sig: NodeJS.Signals): void {
  const pid = livePid(node);
  if (pid === null) throw new Error(`${node.role} of shard ${node.shard} (port ${node.port}) is not running`);
  if (node.keeper) signalKeeper(node, sig as "SIGSTOP" | "SIGCONT");
  else if (node.role === "redis") signal(pid, sig);
  else signalServer(pid, sig);
}

