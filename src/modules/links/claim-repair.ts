import type { ShardSet } from "../../storage/shard-set";
import { claimUrl } from "../../storage/link-rows";

export interface PendingClaim {
  urlHash: Buffer;
  longUrl: string;
  code: string;
}

/**
 * URL-index rows that could not be written because their shard's primary was down. They are
 * retried in the background; the first claim for a URL wins, so a later create of the same URL
 * returns whichever code got there first. Held in memory and bounded: a restart during a long
 * primary outage forgets them, which only costs dedupe for those URLs, never a link.
 * The index shard is looked up at each attempt, on the ring in force then: a claim that waited
 * across a re-sharding lands on the URL's new owner.
 */
export class ClaimRepairQueue {
  private readonly pending = new Map<string, PendingClaim>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private running = false;

  constructor(
    private readonly shards: ShardSet,
    private readonly indexShardFor: (longUrl: string) => number,
    private readonly options: { intervalMs: number; maxPending: number },
  ) {}

  enqueue(claim: PendingClaim): void {
    const key = claim.urlHash.toString("hex");
    if (this.pending.has(key) || this.pending.size >= this.options.maxPending) return;
    this.pending.set(key, claim);
  }

  get size(): number {
    return this.pending.size;
  }

  start(): void {
    this.timer ??= setInterval(() => void this.drain(), this.options.intervalMs);
    this.timer.unref?.();
  }

  /** Tries every pending claim once; keeps the ones whose primary is still unavailable. */
  async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (const [key, claim] of this.pending) {
        const primary = this.shards.at(this.indexShardFor(claim.longUrl)).primary;
        if (primary.policy.isOpen) continue;
        try {
          await claimUrl(primary, claim);
          this.pending.delete(key);
        } catch {
          // still down; the next tick tries again
        }
      }
    } finally {
      this.running = false;
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
