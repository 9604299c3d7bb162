import type { ShardSet } from "../../storage/shard-set";
import { pgCall, redisCall, type PgNode, type RedisNode, type StorageNode } from "../../storage/nodes";

export interface NodeReport {
  name: string;
  role: "redis" | "primary" | "replica";
  up: boolean;
  breaker: "closed" | "open" | "half-open";
  latency_ms: number | null;
  error?: string;
}

export interface ShardReport {
  shard: number;
  nodes: NodeReport[];
}

/**
 * Pings every node through its own policy, so a health check is also the breaker's probe and a
 * node the breaker has skipped reports as down without waiting on it.
 */
export async function checkShards(shards: ShardSet): Promise<ShardReport[]> {
  return Promise.all(
    shards.shards.map(async (shard) => ({
      shard: shard.index,
      nodes: await Promise.all([pingRedis(shard.redis), pingPg(shard.primary), pingPg(shard.replica)]),
    })),
  );
}

const pingRedis = (node: RedisNode) => probe(node, () => redisCall(node, (r) => r.ping(), { idempotent: false }));
const pingPg = (node: PgNode) => probe(node, () => pgCall(node, (sql) => sql`select 1`, { idempotent: false }));

async function probe(node: StorageNode<unknown>, call: () => Promise<unknown>): Promise<NodeReport> {
  const started = performance.now();
  try {
    await call();
    return { name: node.name, role: node.role, up: true, breaker: node.policy.state, latency_ms: round(performance.now() - started) };
  } catch (error) {
    return { name: node.name, role: node.role, up: false, breaker: node.policy.state, latency_ms: null, error: (error as Error).message };
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

/**
 * Null when every node of `indices` answers a ping, else one line naming the ones that do not.
 * An instance runs this before it takes on a shard the ring did not use yet.
 */
export async function probeShards(shards: ShardSet, indices: readonly number[]): Promise<string | null> {
  const reports = await Promise.all(
    indices.map(async (index) => {
      const shard = shards.at(index);
      return Promise.all([pingRedis(shard.redis), pingPg(shard.primary)]);
    }),
  );
  const down = reports.flat().filter((r) => !r.up);
  return down.length === 0 ? null : `unreachable: ${down.map((r) => `${r.name} (${r.error ?? "down"})`).join(", ")}`;
}
