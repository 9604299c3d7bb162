/**
 * The backend's cache counters. A HIT is a value served from a cache: this instance's hot-link
 * cache (`memory`) or Redis; a MISS is every other read outcome (replica, primary, not found,
 * error). Per shard, `memory_hits` says how many of the hits never left the process. Rates are computed here, once, so the event
 * stream and the dashboard show the same figures and never compute their own.
 */
export interface CacheMetricsSnapshot {
  cache_hit_count: number;
  cache_miss_count: number;
  cache_total: number;
  cache_hit_rate: number;
  cache_miss_rate: number;
}

export interface ShardCounters {
  hits: number;
  memory_hits: number;
  redis_hits: number;
  misses: number;
  replica_fallbacks: number;
  primary_fallbacks: number;
  not_found: number;
  errors: number;
  writes: number;
  write_errors: number;
}

export function emptyShardCounters(): ShardCounters {
  return { hits: 0, memory_hits: 0, redis_hits: 0, misses: 0, replica_fallbacks: 0, primary_fallbacks: 0, not_found: 0, errors: 0, writes: 0, write_errors: 0 };
}

export function cacheFigures(hits: number, misses: number): CacheMetricsSnapshot {
  const total = hits + misses;
  return {
    cache_hit_count: hits,
    cache_miss_count: misses,
    cache_total: total,
    cache_hit_rate: total === 0 ? 0 : round4(hits / total),
    cache_miss_rate: total === 0 ? 0 : round4(misses / total),
  };
}

function round4(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}

export class CacheMetrics {
  private hits = 0;
  private memory = 0;
  private misses = 0;
  readonly shards: ShardCounters[];

  constructor(shardCount: number) {
    this.shards = Array.from({ length: shardCount }, emptyShardCounters);
  }

  /** `found`: the link exists (a GONE link was found, just not served). */
  recordRead(shard: number | null, source: "memory" | "redis" | "replica" | "primary" | "none" | "error", found: boolean): void {
    const counters = shard === null ? undefined : this.shards[shard];
    if (source === "memory" || source === "redis") {
      this.hits++;
      if (source === "memory") this.memory++;
      if (counters) {
        counters.hits++;
        if (source === "memory") counters.memory_hits++;
        else counters.redis_hits++;
      }
      return;
    }
    this.misses++;
    if (!counters) return;
    counters.misses++;
    if (source === "replica") counters.replica_fallbacks++;
    else if (source === "primary") counters.primary_fallbacks++;
    else if (source === "error") counters.errors++;
    if (!found && source !== "error") counters.not_found++;
  }

  recordWrite(shard: number | null, ok: boolean): void {
    const counters = shard === null ? undefined : this.shards[shard];
    if (!counters) return;
    if (ok) counters.writes++;
    else counters.write_errors++;
  }

  get hitCount(): number {
    return this.hits;
  }

  /** Hits served by the hot-link cache (the rest of hitCount came from Redis). */
  get memoryHitCount(): number {
    return this.memory;
  }

  get missCount(): number {
    return this.misses;
  }

  snapshot(): CacheMetricsSnapshot {
    return cacheFigures(this.hits, this.misses);
  }
}
