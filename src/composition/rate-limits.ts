import type { Config } from "../config";
import { gcraParams } from "../domain/gcra";
import { RateLimiter } from "../modules/ratelimit/rate-limiter";
import { MemoryAdmission } from "../modules/ratelimit/memory-admission";
import type { ShardSet } from "../storage/shard-set";
import type { RingRouter } from "../topology/ring-router";

/**
 * The rate limits from config: per-client GCRA buckets in the Redis of the shard the ring picks
 * for the client's key. Redirects and anonymous creates are decided in memory and synced with
 * those buckets (a create's synchronous check was a quarter of its CPU, measured); keyed calls
 * and wrong keys are checked in Redis on each call (a bulk call reserves many links at once).
 * All null when RATE_LIMIT_ENABLED=false.
 */
export function rateLimitsFrom(config: Config, shards: ShardSet, router: RingRouter): { limiter: RateLimiter | null; admission: MemoryAdmission | null; createAdmission: MemoryAdmission | null } {
  if (!config.RATE_LIMIT_ENABLED) return { limiter: null, admission: null, createAdmission: null };
  const shardFor = (key: string) => router.current.write.shardFor(key);
  const buckets = {
    create: gcraParams({ perMinute: config.RATE_LIMIT_CREATE_PER_MIN }),
    keyed: gcraParams({ perMinute: config.RATE_LIMIT_KEY_PER_MIN }),
    auth: gcraParams({ perMinute: config.RATE_LIMIT_AUTH_PER_MIN }),
  };
  const inMemory = (bucket: "redirect" | "create", perMinute: number) =>
    new MemoryAdmission({ bucket, shards, shardFor, params: gcraParams({ perMinute }), whenRedisDown: config.RATE_LIMIT_WHEN_REDIS_DOWN, syncMs: config.RATE_LIMIT_SYNC_MS });
  return {
    limiter: new RateLimiter(shards, shardFor, buckets, config.RATE_LIMIT_WHEN_REDIS_DOWN),
    admission: inMemory("redirect", config.RATE_LIMIT_REDIRECT_PER_MIN),
    createAdmission: inMemory("create", config.RATE_LIMIT_CREATE_PER_MIN),
  };
}
