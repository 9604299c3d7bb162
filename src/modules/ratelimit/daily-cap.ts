import { AppError } from "../../errors";
import { redisCall } from "../../storage/nodes";
import type { ShardSet } from "../../storage/shard-set";
import type { RingRouter } from "../../topology/ring-router";

/**
 * A per-client cap on anonymous creates per UTC day (ANONYMOUS_CREATE_PER_DAY), beside the
 * per-minute budget: a client that spends its minute's budget every minute still stops at the
 * cap, as dub caps anonymous users. One Redis counter per client and day, on the shard the ring
 * gives the client's address, kept two days. Redis down: the create goes ahead (the per-minute
 * budget, kept in memory, still holds) rather than refusing every anonymous create.
 */
export class DailyCap {
  constructor(
    private readonly deps: { shards: ShardSet; router: RingRouter; cap: number; clientKey: (request: Request) => string; now?: () => number },
  ) {}

  async charge(request: Request): Promise<void> {
    const client = this.deps.clientKey(request);
    const day = new Date((this.deps.now ?? Date.now)()).toISOString().slice(0, 10);
    const key = `anon:day:${day}:${client}`;
    const redis = this.deps.shards.at(this.deps.router.current.read.shardFor(key)).redis;
    const used = await redisCall(
      redis,
      async (r) => {
        const replies = (await r.multi().incr(key).expire(key, 2 * 86_400, "NX").exec()) as Array<[Error | null, number]> | null;
        return replies?.[0]?.[1] ?? 0;
      },
      { idempotent: false },
    ).catch(() => 0);
    if (used > this.deps.cap) {
      const tomorrow = Date.parse(`${day}T00:00:00Z`) + 86_400_000;
      const retryAfterSeconds = Math.max(1, Math.ceil((tomorrow - (this.deps.now ?? Date.now)()) / 1000));
      throw new AppError("rate-limited", `anonymous creates are capped at ${this.deps.cap} a day per client (ANONYMOUS_CREATE_PER_DAY); use an API key, or try again tomorrow (UTC)`, {
        retryAfterSeconds,
        headers: { "retry-after": String(retryAfterSeconds) },
      });
    }
  }
}
