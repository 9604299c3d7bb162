import type { Config } from "../config";
import type { Tracing } from "../observability/tracing";
import { ShardSet } from "../storage/shard-set";

/**
 * The server's connections to every shard's nodes and the policy each call runs under. Also what
 * the cost-attribution benchmark (bench/lib/variant-server.ts) measures its layers on, so the
 * two cannot drift.
 */
export function connectServerShards(config: Config, tracing?: Tracing): ShardSet {
  return ShardSet.connect(config.shards, {
    tracing,
    // No retries on Redis: every Redis read falls back to the database and every write is
    // best-effort, so a retry would only add latency before the fallback.
    redisPolicy: { timeoutMs: config.REDIS_TIMEOUT_MS, retries: 0, breakAfter: 5, halfOpenAfterMs: config.BREAKER_COOLDOWN_MS },
    dbPolicy: { timeoutMs: config.DB_TIMEOUT_MS, retries: 2, breakAfter: 5, halfOpenAfterMs: config.BREAKER_COOLDOWN_MS },
    dbPoolSize: config.DB_POOL_SIZE,
  });
}
