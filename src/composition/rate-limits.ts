import type { Config } from "../config";
import { gcraParams } from "../domain/gcra";
import { RateLimiter } from "../modules/ratelimit/rate-limiter";
import { RedirectAdmission } from "../modules/ratelimit/redirect-admission";
import type { ShardSet } from "../storage/shard-set";
import type { RingRouter } from "../topology/ring-router";

/**
 * The rate limits from config: per-client GCRA buckets in the Redis of the shard the ring picks
 * for the client's key (creates, keyed calls, wrong keys: checked in Redis on each call), and the
 * redirect budget decided in memory and synced with those buckets. Both null when
 * RATE_LIMIT_ENABLED=false.
 */
export function rateLimitsFrom(config: Config, shards: ShardSet, router: RingRouter): { limiter: RateLimiter | null; admission: RedirectAdmission | null } {
  if (!config.RATE_LIMIT_ENABLED) return { limiter: null, admission: null };
  const shardFor = (key: string) => router.current.write.shardFor(key);
  const buckets = {
    create: gcraParams({ perMinute: config.RATE_LIMIT_CREATE_PER_MIN }),
    keyed: gcraParams({ perMinute: config.RATE_LIMIT_KEY_PER_MIN }),
    auth: gcraParams({ perMinute: config.RATE_LIMIT_AUTH_PER_MIN }),
  };
  return {
    limiter: new RateLimiter(shards, shardFor, buckets, config.RATE_LIMIT_WHEN_REDIS_DOWN),
    admission: new RedirectAdmission({ shards, shardFor, params: gcraParams({ perMinute: config.RATE_LIMIT_REDIRECT_PER_MIN }), whenRedisDown: config.RATE_LIMIT_WHEN_REDIS_DOWN, syncMs: config.RATE_LIMIT_SYNC_MS }),
  };
}
