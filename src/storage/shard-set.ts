import type { ShardNodes } from "../config";
import { closePgNode, closeRedisNode, createPgNode, createRedisNode, type NodeTuning, type PgNode, type RedisNode } from "./nodes";

/** Shard i = { redis[i], primary[i], replica[i] }: cache and database of a code always align. */
export interface Shard {
  readonly index: number;
  readonly redis: RedisNode;
  readonly primary: PgNode;
  readonly replica: PgNode;
}

/**
 * Every configured shard's nodes, by index. Which shards a key maps to is the ring's business
 * (topology/ring-router.ts): the configured set may hold shards the ring does not use yet.
 *
 * @example
 *   const shards = ShardSet.connect(config.shards, tuning);
 *   const shard = shards.at(router.current.read.shardFor("aB3x9"));
 */
export class ShardSet {
  private constructor(readonly shards: readonly Shard[]) {}

  static connect(nodes: readonly ShardNodes[], tuning: NodeTuning): ShardSet {
    return new ShardSet(
      nodes.map((n) => ({
        index: n.index,
        redis: createRedisNode(`redis-${n.index}`, n.redis, tuning.redisPolicy, n.index, tuning.tracing),
        primary: createPgNode(`primary-${n.index}`, "primary", n.primary, tuning.dbPolicy, tuning.dbPoolSize, n.index, tuning.tracing),
        replica: createPgNode(`replica-${n.index}`, "replica", n.replica, tuning.dbPolicy, tuning.dbPoolSize, n.index, tuning.tracing),
      })),
    );
  }

  get count(): number {
    return this.shards.length;
  }

  at(index: number): Shard {
    const shard = this.shards[index];
    if (!shard) throw new RangeError(`no shard ${index}`);
    return shard;
  }

  /** The `members` whose primary accepts writes right now (breaker not open), starting at position `from`. */
  writable(members: readonly number[], from: number): number[] {
    const order: number[] = [];
    for (let i = 0; i < members.length; i++) {
      const index = members[(from + i) % members.length]!;
      if (!this.at(index).primary.policy.isOpen) order.push(index);
    }
    return order;
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.shards.flatMap((s) => [closeRedisNode(s.redis), closePgNode(s.primary), closePgNode(s.replica)]));
  }
}
