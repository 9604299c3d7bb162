import type { ShardSet } from "../../storage/shard-set";
import { claimUrl, deleteLink, pendingClaims, settleClaim, type PendingClaim } from "../../storage/link-rows";

/**
 * URL-index claims owed by links that went to another shard while their URL's shard primary
 * was down. Each is a row in that other shard's pending_claims, written with the link itself, so
 * a restart forgets nothing: every `intervalMs` (and at start) each shard's pending rows are
 * claimed on the URL's shard under the ring in force (first claim wins), then deleted. A link
 * whose URL another code claimed first is kept: its code was answered to a client. That is the
 * ambiguous commit of a primary lost mid-create: the first try committed on the shard (and its
 * synchronous standby) but the answer died with the primary, so the retry placed a second link
 * elsewhere and answered with it. The URL dedupes to the winner from then on; both codes redirect.
 */
export class ClaimRepair {
  private timer: ReturnType<typeof setInterval> | undefined;
  private running = false;

  constructor(
    private readonly shards: ShardSet,
    private readonly indexShardFor: (longUrl: string) => number,
    private readonly options: { intervalMs: number; batch: number },
  ) {}

  start(): void {
    void this.drain();
    this.timer ??= setInterval(() => void this.drain(), this.options.intervalMs);
    this.timer.unref?.();
  }

  /** One pass over every shard's pending claims; those whose index primary is still down wait. */
  async drain(): Promise<number> {
    if (this.running) return 0;
    this.running = true;
    let settled = 0;
    try {
      for (const shard of this.shards.shards) {
        if (shard.primary.policy.isOpen) continue;
        const owed = await pendingClaims(shard.primary, this.options.batch).catch(() => []);
        for (const claim of owed) if ((await this.settle(shard.index, claim)) !== null) settled++;
      }
    } finally {
      this.running = false;
    }
    return settled;
  }

  /**
   * Claims on the URL's shard now: the code that owns the URL afterwards, or null while that
   * primary cannot take it (the row stays for the next pass). `answered`: whether a client may
   * hold the claim's code; only the create path, before it answers, removes a link that lost.
   */
  async settle(home: number, claim: PendingClaim, answered = true): Promise<string | null> {
    const index = this.shards.at(this.indexShardFor(claim.longUrl)).primary;
    if (index.policy.isOpen) return null;
    try {
      const winner = await claimUrl(index, claim);
      const here = this.shards.at(home).primary;
      if (winner !== claim.code && !answered) await deleteLink(here, claim.code);
      await settleClaim(here, claim).catch(() => {});
      return winner;
    } catch {
      return null;
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
