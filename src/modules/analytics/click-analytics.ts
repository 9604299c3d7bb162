import { ClickAudience } from "./click-audience";
import type { ClickEnricher, ShardRollups } from "./click-enricher";
import type { HashRing } from "../../domain/ring";
import type { ClickLog } from "./click-log";
import type { EnrichedClick } from "./click-rollup";

/**
 * Each click flush's analytics: takes the raw facts logged since the last flush and has the
 * worker threads enrich them and add them up where the interval's rollups are kept; every
 * `intervalMs` (and on the last flush, or as soon as a thread holds `maxLinks` links) has them
 * hand the rollups over, split by shard, to the click flusher, to store beside the counts.
 * Clicks a thread fails on, or loses with its rollups, are lost as details only (they stay
 * counted, as unenriched). Enriched clicks go to the live stream while someone listens.
 *
 * @example
 *   const analytics = new ClickAnalytics({ log, enricher, salt: (now) => salts.of(now), listening: () => bus.wanted, onCounted, onClicks });
 *   const perShard = await analytics.take(Date.now(), router.current.write);
 */
export class ClickAnalytics {
  private enrichedClicks = 0;
  /** Clicks enriched since the last hand-over: what it should hold. */
  private pendingClicks = 0;
  private handedAt = 0;
  /** The most links a thread reported holding since the last hand-over. */
  private fullest = 0;
  /** Humans, bots and top values since this instance started, for the operator dashboard. */
  readonly audience = new ClickAudience();

  constructor(
    private readonly deps: {
      log: ClickLog;
      enricher: ClickEnricher;
      /** The day's visitor salt; null when unique visitors are off. */
      salt: ((now: number) => Promise<string>) | null;
      listening: () => boolean;
      /** The clicks the log counted since its last drain, per code (they are counted there, not per redirect). */
      onCounted: (perCode: ReadonlyMap<string, number>) => void;
      onClicks: (clicks: EnrichedClick[]) => void;
      /** Most enriched clicks streamed per flush. */
      streamMax: number;
      /** ANALYTICS_FLUSH_MS: how often the added-up rollups go to the shards. */
      intervalMs: number;
      /**
       * Links a thread may hold before the rollups go to the shards ahead of the interval: the
       * interval's rollups grow with the distinct links clicked in it, so this bounds the
       * worker's memory when a long tail of links is clicked within one interval.
       */
      maxLinks: number;
      onError: (error: Error) => void;
    },
  ) {}

  /** `ring`: the ring the counts of this flush are routed by. `last`: the final flush (a stop), which takes everything pending. */
  async take(now: number, ring: HashRing, last = false): Promise<ShardRollups[]> {
    await this.enrichLogged(now);
    if (!last && now - this.handedAt < this.deps.intervalMs && this.fullest < this.deps.maxLinks) return [];
    this.handedAt = now;
    this.fullest = 0;
    if (this.pendingClicks === 0) return [];
    const expected = this.pendingClicks;
    this.pendingClicks = 0;
    try {
      const { perShard, clicks } = await this.deps.enricher.handOver(ring);
      if (clicks < expected) this.deps.log.lost(expected - clicks);
      return perShard;
    } catch (error) {
      this.deps.log.lost(expected);
      this.deps.onError(error as Error);
      return [];
    }
  }

  private async enrichLogged(now: number): Promise<void> {
    const streamed = this.deps.listening() ? this.deps.streamMax : 0;
    const facts = this.deps.log.drain(streamed);
    const count = facts.count;
    if (count === 0) return;
    this.deps.onCounted(facts.perCode);
    try {
      const salt = this.deps.salt ? await this.deps.salt(now) : null;
      const { audience, sample, links } = await this.deps.enricher.enrich(facts, salt, streamed);
      this.fullest = Math.max(this.fullest, links);
      this.enrichedClicks += count;
      this.audience.add(audience);
      this.pendingClicks += count;
      if (sample.length > 0) this.deps.onClicks(sample);
    } catch (error) {
      this.deps.log.lost(count);
      this.deps.onError(error as Error);
    } finally {
      // The worker's task has ended, read or failed: nothing reads the drain's buffers now.
      this.deps.log.release(facts);
    }
  }

  /** Clicks enriched, and clicks counted without their details (log full, or the pool failed). */
  get figures(): { enriched: number; unenriched: number } {
    return { enriched: this.enrichedClicks, unenriched: this.deps.log.unenriched };
  }

  close(): Promise<void> {
    return this.deps.enricher.close();
  }
}
