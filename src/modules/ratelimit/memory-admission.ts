import type Redis from "ioredis";
import { gcraStep, type GcraParams } from "../../domain/gcra";
import { redisCall } from "../../storage/nodes";
import { rateKey } from "../../storage/redis-keys";
import type { ShardSet } from "../../storage/shard-set";
import { GCRA_SYNC_LUA } from "./gcra-script";
import { outageDecision, type RateDecision, type WhenRedisDown } from "./rate-limiter";

type SyncRedis = Redis & { shortenGcraSync(keys: number, ...args: Array<string | number>): Promise<string[]> };

/** Buckets per EVAL: a sync of many clients goes in chunks, so no single script holds Redis long. */
const SYNC_CHUNK = 1000;

interface ClientBucket {
  /** The bucket as this instance sees it: its own spending plus the cluster's as of the last sync. */
  tat: number;
  /** Tokens spent here since the last sync, owed to the shared bucket. */
  owed: number;
}

/**
 * A per-client budget decided in memory (redirects; anonymous creates): a request never waits on
 * a network round trip for its rate limit. Each instance keeps a GCRA bucket per client and
 * spends from it; every `syncMs` it sends what each client spent to the shared bucket in the
 * Redis of the client's shard (one script call per shard and interval, carrying every client)
 * and takes back the cluster's total, so N instances converge on one budget.
 *
 * Over-admission is bounded: an instance decides on the cluster's spending as of the last sync
 * in which it owed that client something (a bucket with nothing owed is not sent, so it learns
 * nothing of what the others spend since), so each instance can admit at most what its own view
 * still allowed: at most one burst per instance. A 404's surcharge is charged the same way
 * (force: into debt, see gcraStep).
 *
 * While a client's shard cannot be reached, `whenRedisDown` decides as for every other budget:
 * `memory` keeps deciding here (the limit holds per instance), `allow` admits, `deny` refuses.
 *
 * @example
 *   const admission = new MemoryAdmission({ bucket: "redirect", shards, shardFor, params: gcraParams({ perMinute: 6000 }), whenRedisDown: "memory", syncMs: 100 });
 *   admission.start();
 *   const d = admission.admit("203.0.113.7", 1); // d.allowed, d.remaining: no I/O
 */
export class MemoryAdmission {
  private readonly clients = new Map<string, ClientBucket>();
  private readonly unreachable = new Set<number>();
  private readonly base: { limit: number; windowSeconds: number };
  private timer: ReturnType<typeof setInterval> | undefined;
  private syncing: Promise<void> | null = null;
  private readonly now: () => number;

  constructor(
    private readonly deps: {
      /** Whose budget: names the shared bucket in Redis (`rl:<bucket>:<client>`). */
      bucket: "redirect" | "create";
      shards: ShardSet;
      /** The shard whose Redis holds a client's shared bucket (the ring in force). */
      shardFor: (clientKey: string) => number;
      params: GcraParams;
      whenRedisDown: WhenRedisDown;
      syncMs: number;
      now?: () => number;
    },
  ) {
    this.now = deps.now ?? Date.now;
    this.base = { limit: deps.params.burst, windowSeconds: Math.round((deps.params.burst * deps.params.emissionMs) / 1000) };
    for (const shard of deps.shards.shards) {
      const client = shard.redis.client as SyncRedis;
      if (typeof client.shortenGcraSync !== "function") client.defineCommand("shortenGcraSync", { lua: GCRA_SYNC_LUA });
    }
  }

  /** Spends `cost` of the client's budget; `force`: charge even what it cannot pay (the 404 surcharge). */
  admit(clientKey: string, cost: number, force = false): RateDecision {
    const mode = this.deps.whenRedisDown;
    if (this.unreachable.size > 0 && mode !== "memory" && this.unreachable.has(this.deps.shardFor(clientKey))) return { ...this.base, ...outageDecision(mode, this.deps.params) };
    const bucket = this.clients.get(clientKey);
    const result = gcraStep(bucket?.tat, this.now(), this.deps.params, cost, force);
    if (result.allowed || force) {
      if (bucket) {
        bucket.tat = result.tat;
        bucket.owed += cost;
      } else this.clients.set(clientKey, { tat: result.tat, owed: cost });
    }
    return { ...this.base, ...result, store: "memory" };
  }

  start(): void {
    this.timer = setInterval(() => void this.exchangeOnce().catch(() => {}), this.deps.syncMs);
    this.timer.unref?.();
  }

  /**
   * Sends everything admitted before this call to the shared buckets and learns the cluster's
   * totals. An exchange in flight took its snapshot already, perhaps before this call's
   * spending: it is waited out and one more runs (or one begun since, whose snapshot is later).
   */
  async sync(): Promise<void> {
    await this.syncing;
    await this.exchangeOnce();
  }

  /** A last sync, so what this instance admitted counts against the shared budgets. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.sync();
  }

  /** What was spent since the last exchange, sent; at most one exchange at a time (the timer's ticks meanwhile join it). */
  private exchangeOnce(): Promise<void> {
    this.syncing ??= this.exchange().finally(() => {
      this.syncing = null;
    });
    return this.syncing;
  }

  private async exchange(): Promise<void> {
    const now = this.now();
    const byShard = new Map<number, Array<{ key: string; bucket: ClientBucket; owed: number }>>();
    for (const [key, bucket] of this.clients) {
      if (bucket.owed === 0) {
        // Full again: nothing to tell and nothing worth keeping (a new bucket starts full).
        if (bucket.tat <= now) this.clients.delete(key);
        continue;
      }
      const shard = this.deps.shardFor(key);
      let list = byShard.get(shard);
      if (!list) byShard.set(shard, (list = []));
      list.push({ key, bucket, owed: bucket.owed });
      bucket.owed = 0;
    }
    const { emissionMs, burst } = this.deps.params;
    // A shard marked unreachable with nothing owed to it (deny refuses, allow does not charge)
    // is asked whether it is back, or it would stay marked.
    const recovering = [...this.unreachable].filter((shard) => !byShard.has(shard));
    await Promise.all([
      ...recovering.map((shard) =>
        redisCall(this.deps.shards.at(shard).redis, (r) => r.ping(), { idempotent: true }).then(
          () => this.unreachable.delete(shard),
          () => {},
        ),
      ),
      ...[...byShard].map(async ([shard, owed]) => {
        try {
          const node = this.deps.shards.at(shard).redis;
          for (let i = 0; i < owed.length; i += SYNC_CHUNK) {
            const chunk = owed.slice(i, i + SYNC_CHUNK);
            // Not idempotent: a retried sync would charge the same tokens twice.
            const ahead = await redisCall(node, (r) => (r as SyncRedis).shortenGcraSync(chunk.length, ...chunk.map((c) => rateKey(this.deps.bucket, c.key)), emissionMs, burst, ...chunk.map((c) => c.owed)), { idempotent: false });
            const at = this.now();
            chunk.forEach((c, j) => {
              // The cluster's spending as of the script, plus what this instance admitted while
              // the call was in flight (owed again since the snapshot, not yet in the shared bucket).
              const shared = at + Number(ahead[j]) + c.bucket.owed * emissionMs;
              if (shared > c.bucket.tat) c.bucket.tat = shared;
            });
          }
          this.unreachable.delete(shard);
        } catch {
          // What was spent meanwhile stays charged here only: per instance, as while Redis is down.
          this.unreachable.add(shard);
        }
      }),
    ]);
  }
}
