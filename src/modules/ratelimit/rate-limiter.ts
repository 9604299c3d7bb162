import { rateKey } from "../../storage/redis-keys";
import type Redis from "ioredis";
import { gcraStep, gcraTake, type GcraParams, type GcraResult } from "../../domain/gcra";
import type { ShardSet } from "../../storage/shard-set";
import { redisCall } from "../../storage/nodes";
import { GCRA_LUA, GCRA_TAKE_LUA } from "./gcra-script";

/**
 * `keyed`: everything a request with an API key does besides redirects, and each link its bulk or
 * import calls create (its own, higher budget). `auth`: per client address, every credential this
 * instance does not already know as a valid key (paid before the catalog is asked).
 */
export type RateBucket = "create" | "keyed" | "auth";
export type WhenRedisDown = "memory" | "allow" | "deny";

export interface RateDecision extends GcraResult {
  limit: number;
  windowSeconds: number;
  /** Where the decision was made: the shared Redis bucket or this instance's fallback. */
  store: "redis" | "memory" | "none";
}

/** What `take` granted of the tokens asked for; `allowed` when it granted all of them. */
export interface RateTake extends RateDecision {
  granted: number;
}

/**
 * The decision while a client's Redis is down and `whenRedisDown` is `allow` or `deny` (`memory`
 * decides in memory instead): every budget, the redirect one included, answers the same.
 */
export function outageDecision(mode: "allow" | "deny", params: GcraParams): GcraResult & { store: "none" } {
  return mode === "allow" ? { allowed: true, tat: 0, retryAfterMs: 0, remaining: params.burst, resetMs: 0, store: "none" } : { allowed: false, tat: 0, retryAfterMs: 1000, remaining: 0, resetMs: 1000, store: "none" };
}

type GcraRedis = Redis & {
  shortenGcra(key: string, emission: number, burst: number, cost: number, force: number): Promise<[number, number, number, number]>;
  shortenGcraTake(key: string, emission: number, burst: number, wanted: number): Promise<[number, number, number, number]>;
};

/**
 * Per-client rate limits in Redis, keyed by client IP and routed on the ring like any other key
 * (all but redirects and anonymous creates, which MemoryAdmission decides in memory).
 * When the client's Redis node is down, `whenRedisDown` decides: `memory` keeps a per-instance
 * GCRA (limits still hold, per instance), `allow` lets everything through, `deny` refuses.
 *
 * @example
 *   const limiter = new RateLimiter(shards, (key) => router.current.write.shardFor(key), { create: gcraParams({ perMinute: 60 }), ... }, "memory");
 *   const d = await limiter.consume("create", "203.0.113.7", 1);
 */
export class RateLimiter {
  private readonly memory = new Map<string, number>();
  private sweepAt = 0;

  constructor(
    private readonly shards: ShardSet,
    /** The shard whose Redis holds a client's bucket (the ring in force). */
    private readonly shardFor: (clientKey: string) => number,
    private readonly buckets: Record<RateBucket, GcraParams>,
    private readonly whenRedisDown: WhenRedisDown,
    private readonly now: () => number = Date.now,
  ) {
    for (const shard of shards.shards) {
      const client = shard.redis.client as GcraRedis;
      if (typeof client.shortenGcra !== "function") client.defineCommand("shortenGcra", { numberOfKeys: 1, lua: GCRA_LUA });
      if (typeof client.shortenGcraTake !== "function") client.defineCommand("shortenGcraTake", { numberOfKeys: 1, lua: GCRA_TAKE_LUA });
    }
  }

  /** `force`: charge even what the bucket cannot pay (see gcraStep); the request is not refused for it. */
  async consume(bucket: RateBucket, clientKey: string, cost: number, force = false): Promise<RateDecision> {
    const { params, key, node, base } = this.bucketOf(bucket, clientKey);
    try {
      // Not idempotent: a retried consume would charge twice.
      const [allowed, retryAfterMs, remaining, resetMs] = await redisCall(node, (r) => (r as GcraRedis).shortenGcra(key, params.emissionMs, params.burst, cost, force ? 1 : 0), { idempotent: false });
      return { ...base, allowed: allowed === 1, tat: 0, retryAfterMs, remaining, resetMs, store: "redis" };
    } catch {
      return { ...base, ...this.fallback(key, params, cost, force) };
    }
  }

  /** Takes up to `wanted` tokens in one call and says how many it granted (the rest are not charged). */
  async take(bucket: RateBucket, clientKey: string, wanted: number): Promise<RateTake> {
    const { params, key, node, base } = this.bucketOf(bucket, clientKey);
    try {
      // Not idempotent either: a retried take would charge twice.
      const [granted, retryAfterMs, remaining, resetMs] = await redisCall(node, (r) => (r as GcraRedis).shortenGcraTake(key, params.emissionMs, params.burst, wanted), { idempotent: false });
      return { ...base, granted, allowed: granted === wanted, tat: 0, retryAfterMs, remaining, resetMs, store: "redis" };
    } catch {
      return { ...base, ...this.takeFallback(key, params, wanted) };
    }
  }

  private bucketOf(bucket: RateBucket, clientKey: string) {
    const params = this.buckets[bucket];
    return {
      params,
      key: rateKey(bucket, clientKey),
      node: this.shards.at(this.shardFor(clientKey)).redis,
      base: { limit: params.burst, windowSeconds: Math.round((params.burst * params.emissionMs) / 1000) },
    };
  }

  private takeFallback(key: string, params: GcraParams, wanted: number): Omit<RateTake, "limit" | "windowSeconds"> {
    if (this.whenRedisDown !== "memory") {
      const granted = this.whenRedisDown === "allow" ? wanted : 0;
      return { ...outageDecision(this.whenRedisDown, params), granted, allowed: granted === wanted };
    }
    const now = this.now();
    this.sweep(now);
    const result = gcraTake(this.memory.get(key), now, params, wanted);
    if (result.granted > 0) this.memory.set(key, result.tat);
    return { ...result, allowed: result.granted === wanted, store: "memory" };
  }

  private fallback(key: string, params: GcraParams, cost: number, force: boolean): GcraResult & { store: RateDecision["store"] } {
    if (this.whenRedisDown !== "memory") return outageDecision(this.whenRedisDown, params);
    const now = this.now();
    this.sweep(now);
    const result = gcraStep(this.memory.get(key), now, params, cost, force);
    if (result.allowed || force) this.memory.set(key, result.tat);
    return { ...result, store: "memory" };
  }

  /** Drops buckets that are full again, so the fallback map stays bounded by active clients. */
  private sweep(now: number): void {
    if (now < this.sweepAt) return;
    this.sweepAt = now + 10_000;
    for (const [key, tat] of this.memory) if (tat <= now) this.memory.delete(key);
  }
}
