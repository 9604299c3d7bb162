import type { ReadOutcome, WriteOutcome } from "../modules/links/outcomes";
import type { CacheMetricsSnapshot } from "../observability/cache-metrics";
import type { ReadEvent, WriteEvent } from "./event-schema";

/**
 * Turns the link service's outcomes into wire events. Event ids are the instance name plus a
 * counter: unique across instances without a random source on the hot path.
 */
export class EventFactory {
  private seq = 0;

  constructor(private readonly node: string) {}

  read(outcome: ReadOutcome, metrics: CacheMetricsSnapshot): ReadEvent {
    const shard = outcome.shard;
    return {
      event_id: this.nextId(),
      type: "read",
      status: outcome.status,
      node: this.node,
      redis: shard === null ? null : `redis-${shard}`,
      db: shard === null || outcome.source === "redis" ? null : outcome.source === "replica" ? `replica-${shard}` : `primary-${shard}`,
      short_code: outcome.code.slice(0, 64),
      latency_ms: round(outcome.latencyMs),
      cache: outcome.cache,
      source: outcome.source,
      ...metrics,
      cache_metrics: { ...metrics },
    };
  }

  write(outcome: WriteOutcome): WriteEvent {
    const shard = outcome.shard;
    return {
      event_id: this.nextId(),
      type: "write",
      status: outcome.status,
      node: this.node,
      redis: shard === null ? null : `redis-${shard}`,
      db: shard === null ? null : `primary-${shard}`,
      short_code: outcome.code,
      latency_ms: round(outcome.latencyMs),
    };
  }

  private nextId(): string {
    return `${this.node}-${Date.now().toString(36)}-${(this.seq++).toString(36)}`;
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
