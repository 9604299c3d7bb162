import type { ShardNodes } from "../config";
import { HashRing } from "../domain/ring";
import { closePgNode, closeRedisNode, createPgNode, createRedisNode, type NodeTuning, type PgNode, type RedisNode } from "./nodes";

/** Shard i = { redis[i], primary[i], replica[i] }: cache and database of a code always align. */
export interface Shard {
  readonly index: number;
  readonly redis: RedisNode;
  readonly primary: PgNode;
  readonly replica: PgNode;
}

/**
 * All shards and the ring that maps a key to one of them.
 *
 * @example
 *   const shards = ShardSet.connect(config.shards, tuning);
 *   const shard = shards.forKey("aB3x9");
 */
export class ShardSet {
  readonly ring: HashRing;

  private constructor(readonly shards: readonly Shard[]) {
    this.ring = new HashRing(shards.length);
  }

  static connect(nodes: readonly ShardNodes[], tuning: NodeTuning): ShardSet {
    return new ShardSet(
      nodes.map((n) => ({
        index: n.index,
        redis: createRedisNode(`redis-${n.index}`, n.redis, tuning.redisPolicy),
        primary: createPgNode(`primary-${n.index}`, "primary", n.primary, tuning.dbPolicy, tuning.dbPoolSize),
        replica: createPgNode(`replica-${n.index}`, "replica", n.replica, tuning.dbPolicy, tuning.dbPoolSize),
      })),
    );
  }

  get count(): number {
    return this.shards.length;
  }

  forKey(key: string): Shard {
    return this.shards[this.ring.shardFor(key)]!;
  }

  at(index: number): Shard {
    const shard = this.shards[index];
    if (!shard) throw new RangeError(`no shard ${index}`);
    return shard;
  }

  /** Shards whose primary accepts writes right now (breaker not open), starting at `from`. */
  writableFrom(from: number): number[] {
    const order: number[] = [];
    for (let i = 0; i < this.count; i++) {
      const index = (from + i) % this.count;
      if (!this.at(index).primary.policy.isOpen) order.push(index);
    }
    return order;
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.shards.flatMap((s) => [closeRedisNode(s.redis), closePgNode(s.primary), closePgNode(s.replica)]));
  }
}
