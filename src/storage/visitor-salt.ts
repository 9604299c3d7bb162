import { randomBytes } from "node:crypto";
import type { RedisNode } from "./nodes";
import { redisCall } from "./nodes";
import { visitorSaltKey } from "./redis-keys";

const DAY_MS = 86_400_000;
/** A salt outlives its day by this much, for flushes that straddle midnight; then it is gone. */
const GRACE_MS = 3_600_000;

/**
 * The salt of visitor ids for one UTC day, shared by every instance through Redis (the first to
 * ask sets it, SET NX) and expiring an hour after its day ends, so yesterday's ids can no longer
 * be recomputed from an address. While Redis is unreachable an instance uses a salt of its own
 * for the day: a visitor seen by two instances then counts twice.
 *
 * @example const salt = await salts.of(Date.now()); // "9f3c…"
 */
export class VisitorSalts {
  private day = "";
  private shared: string | null = null;
  private local = "";

  constructor(private readonly node: RedisNode) {}

  async of(now: number): Promise<string> {
    const day = new Date(now).toISOString().slice(0, 10);
    if (day !== this.day) {
      this.day = day;
      this.shared = null;
      this.local = randomBytes(16).toString("hex");
    }
    if (this.shared !== null) return this.shared;
    const expireAt = Math.floor((Math.floor(now / DAY_MS) * DAY_MS + DAY_MS + GRACE_MS) / 1000);
    const key = visitorSaltKey(day);
    try {
      const replies = await redisCall(this.node, (r) => r.multi().set(key, this.local, "EXAT", expireAt, "NX").get(key).exec(), { idempotent: true });
      const salt = replies?.[1]?.[1];
      if (typeof salt === "string" && salt.length > 0) this.shared = salt;
    } catch {
      // Asked again at the next flush; until then this instance's own salt of the day.
    }
    return this.shared ?? this.local;
  }
}
