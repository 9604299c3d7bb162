import type { Logger } from "../../observability/logger";
import type { ShardSet } from "../../storage/shard-set";
import type { HashRing } from "../../domain/ring";
import type { RollupColumns } from "../../storage/rollup-columns";
import { applyClickBatch, pruneAnalytics, pruneClickBatches, type ClickBatch } from "../../storage/click-rows";
import { compactRollups } from "../../storage/rollup-compaction";
import type { RingRouter } from "../../topology/ring-router";
import type { ClickCounter } from "./click-counter";

const HOUR_MS = 3_600_000;
const PRUNE_EVERY_MS = 6 * HOUR_MS;

/**
 * Moves counted clicks to PostgreSQL every `intervalMs`: per shard (the code's owner in the ring
 * in force) one transaction with one multi-row upsert, under a batch id made of this instance's
 * name, a per-process boot id and a sequence number, so a retried flush is applied once. A batch
 * that fails stays queued with its id and is retried on the next tick; past `maxQueued` batches
 * per shard the oldest are dropped and counted as lost. A crash loses at most what was counted
 * since the last flush (one interval of this instance) plus whatever was still queued; stop()
 * flushes everything first.
 */
export class ClickFlusher {
  private readonly bootId = crypto.randomUUID().slice(0, 8);
  private seq = 0;
  private readonly queued = new Map<number, ClickBatch[]>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private pruneTimer: ReturnType<typeof setInterval> | undefined;
  private running: Promise<void> | null = null;
  private lostClicks = 0;
  private flushedClicks = 0;

  constructor(
    private readonly deps: {
      counter: ClickCounter;
      shards: ShardSet;
      router: RingRouter;
      instance: string;
      intervalMs: number;
      maxQueued: number;
      logger: Logger;
      /** The enriched share of the interval's clicks (click analytics), split by `ring` as the counts are, stored in the same batch as the counts. */
      rollups?: (now: number, ring: HashRing, last: boolean) => Promise<ReadonlyArray<{ shard: number; columns: RollupColumns }>>;
      /** ANALYTICS_RETENTION_DAYS: older analytics rows are deleted at start and every few hours. */
      retentionDays?: number;
      /** ANALYTICS_HOURLY_DAYS: older hourly rows are folded into daily ones on the same rounds. */
      hourlyDays?: number;
      now?: () => number;
    },
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.flush(), this.deps.intervalMs);
    this.timer.unref?.();
    this.prune();
    this.pruneTimer ??= setInterval(() => this.prune(), PRUNE_EVERY_MS);
    this.pruneTimer.unref?.();
  }

  /**
   * Best-effort: a shard that is down now is pruned on a later round. No folding while a
   * re-sharding runs: the mover copies rows by their key, and a row folded on one side mid-copy
   * would arrive on the other beside the hours it was folded from.
   */
  private prune(): void {
    const { retentionDays, hourlyDays } = this.deps;
    const fold = hourlyDays !== undefined && this.deps.router.current.phase === "stable";
    for (const shard of this.deps.shards.shards) {
      void pruneClickBatches(shard.primary, 24).catch(() => {});
      if (retentionDays !== undefined) void pruneAnalytics(shard.primary, retentionDays).catch(() => {});
      if (fold) void compactRollups(shard.primary, hourlyDays).catch(() => {});
    }
  }

  /** Takes the counts and applies every queued batch; concurrent calls share one run. */
  flush(): Promise<void> {
    this.running ??= this.run().finally(() => (this.running = null));
    return this.running;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    this.timer = undefined;
    this.pruneTimer = undefined;
    await this.running;
    // The last run takes everything, the analytics added up but not yet handed over included.
    await this.run(true);
    const left = [...this.queued.values()].reduce((n, q) => n + q.reduce((m, b) => m + sum(b.counts), 0), 0);
    if (left > 0) this.deps.logger.warn("clicks not flushed at shutdown", { clicks: left });
  }

  /** Clicks written to PostgreSQL by this instance, and clicks given up on (queue overflow). */
  get figures(): { flushed: number; lost: number } {
    return { flushed: this.flushedClicks, lost: this.lostClicks };
  }

  /**
   * Each piece of a flush (taking the counts, handing the raw clicks to the analytics worker,
   * grouping by shard, starting each shard's upsert) holds the event loop for up to a few
   * milliseconds; each gets a turn of its own, so a request waits behind one piece at most, not
   * the sum (p99 at a fixed rate was the flushes' doing). The rollups come split by shard, by
   * the ring the counts are routed by, so both land in one batch under one epoch. They are taken
   * first: with analytics on, taking them drains the click log, which counts the clicks.
   */
  private async run(last = false): Promise<void> {
    const now = (this.deps.now ?? Date.now)();
    const { write: ring, version: epoch } = this.deps.router.current;
    const hour = new Date(Math.floor(now / HOUR_MS) * HOUR_MS);
    const rollups = this.deps.rollups ? await this.deps.rollups(now, ring, last) : [];
    await nextTurn();
    this.deps.counter.tick(now);
    const counts = this.deps.counter.drain();
    await nextTurn();
    this.enqueue(counts, rollups, hour, ring, epoch);
    const applying: Promise<void>[] = [];
    for (const [shard, batches] of this.queued) {
      await nextTurn();
      applying.push(this.applyQueued(shard, batches));
    }
    await Promise.all(applying);
  }

  private enqueue(counts: Map<string, number>, rollups: ReadonlyArray<{ shard: number; columns: RollupColumns }>, hour: Date, ring: HashRing, epoch: number): void {
    if (counts.size === 0 && rollups.length === 0) return;
    const byShard = new Map<number, { counts: Map<string, number>; rollups: RollupColumns | null }>();
    const groupOf = (shard: number) => {
      let group = byShard.get(shard);
      if (!group) byShard.set(shard, (group = { counts: new Map(), rollups: null }));
      return group;
    };
    for (const [code, n] of counts) groupOf(ring.shardFor(code)).counts.set(code, n);
    // Rollups are handed over every analytics interval, so a link's may come without new
    // clicks: its row then gains humans and bots, and 0 clicks.
    for (const { shard, columns } of rollups) groupOf(shard).rollups = columns;
    for (const [home, group] of byShard) {
      const queue = this.queued.get(home) ?? [];
      this.queued.set(home, queue);
      queue.push({ id: `${this.deps.instance}:${this.bootId}:${this.seq++}`, instance: this.deps.instance, home, epoch, hour, counts: group.counts, rollups: group.rollups });
      while (queue.length > this.deps.maxQueued) this.lostClicks += sum(queue.shift()!.counts);
    }
  }

  /** In order: a batch stays queued until it is applied, and later ones wait behind it. */
  private async applyQueued(shard: number, queue: ClickBatch[]): Promise<void> {
    const primary = this.deps.shards.at(shard).primary;
    while (queue.length > 0) {
      const batch = queue[0]!;
      try {
        // False means an earlier attempt did commit: either way the batch is in the database once.
        await applyClickBatch(primary, batch);
        this.flushedClicks += sum(batch.counts);
        queue.shift();
      } catch (error) {
        this.deps.logger.warn("click flush failed; retrying next tick", { shard, batches: queue.length, error: (error as Error).message });
        return;
      }
    }
  }
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function sum(counts: ReadonlyMap<string, number>): number {
  let n = 0;
  for (const v of counts.values()) n += v;
  return n;
}
