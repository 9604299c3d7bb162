/**
 * Test access to the local cluster that `npm test` (scripts/test.ts) boots for the run.
 * The runner sets DATABASE_NODES, REDIS_NODES and SHORTEN_CLUSTER_DIR; a suite run without
 * them fails with a message saying so (`bun test test/unit` needs no cluster).
 *
 * @example
 *   const { dir } = clusterEnv();
 *   const state = clusterState();
 *   await stopNode(state, 0, "redis", "kill");
 *   await startNode(state, 0, "redis");
 */
import { readState, type ClusterState } from "../scripts/cluster/index";

export { eventually } from "./eventually";
export { stopNode, startNode, pauseNode, resumeNode, nodeAlive, livePid, findNode, type StopMode, type Role, type ClusterState, type NodeState } from "../scripts/cluster/index";

export interface ClusterEnv {
  DATABASE_NODES: string;
  REDIS_NODES: string;
  dir: string;
}

export function clusterEnv(): ClusterEnv {
  const { DATABASE_NODES, REDIS_NODES, SHORTEN_CLUSTER_DIR } = process.env;
  if (!DATABASE_NODES || !REDIS_NODES || !SHORTEN_CLUSTER_DIR) {
    throw new Error("no test cluster: run the suite with `npm test` (scripts/test.ts), which boots one and sets DATABASE_NODES, REDIS_NODES, SHORTEN_CLUSTER_DIR");
  }
  return { DATABASE_NODES, REDIS_NODES, dir: SHORTEN_CLUSTER_DIR };
}

/** A fresh read of state.json (node control functions update it, so read it per test). */
export function clusterState(): ClusterState {
  return readState(clusterEnv().dir);
}

/** Per shard: { redis, primary, replica } URLs, from the env the runner set. */
export function shardUrls(): { redis: string; primary: string; replica: string }[] {
  const { DATABASE_NODES, REDIS_NODES } = clusterEnv();
  const db = DATABASE_NODES.split(",");
  return REDIS_NODES.split(",").map((redis, i) => ({ redis, primary: db[2 * i]!, replica: db[2 * i + 1]! }));
}

/** A random id unique enough for one test: tests never truncate, so rows must not collide. */
export function freshId(): bigint {
  const b = crypto.getRandomValues(new Uint8Array(8));
  b[0]! &= 0x3f; // positive, fits bigint
  return b.reduce((acc, x) => (acc << 8n) | BigInt(x), 0n);
}

export function freshCode(prefix = "t"): string {
  return `${prefix}${crypto.randomUUID().replaceAll("-", "").slice(0, 14)}`;
}
