import { redisCall } from "../../storage/nodes";
import type { ShardSet } from "../../storage/shard-set";
import type { RingRouter } from "../../topology/ring-router";

/**
 * Counts events under a key for a fixed window (INCR, and an expiry set by the first of the
 * window), on the shard the ring gives the key. Redis down: 0, so the caller's check lets the
 * request through rather than refusing everyone while a node is away.
 */
export function windowCounter(shards: ShardSet, router: RingRouter) {
  return async (key: string, windowSeconds: number): Promise<number> => {
    const redis = shards.at(router.current.read.shardFor(key)).redis;
    return redisCall(
      redis,
      async (r) => {
        const replies = (await r.multi().incr(key).expire(key, windowSeconds, "NX").exec()) as Array<[Error | null, number]> | null;
        return replies?.[0]?.[1] ?? 0;
      },
      { idempotent: false },
    ).catch(() => 0);
  };
}

export type WindowCounter = ReturnType<typeof windowCounter>;
