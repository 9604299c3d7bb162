import { AppError } from "../../errors";
import type { WindowCounter } from "./window-counter";

/**
 * A per-client cap on anonymous creates per UTC day (ANONYMOUS_CREATE_PER_DAY), beside the
 * per-minute budget: a client that spends its minute's budget every minute still stops at the
 * cap, as dub caps anonymous users. One counter per client and day, kept two days. Redis down:
 * the create goes ahead (the per-minute budget, kept in memory, still holds).
 */
export class DailyCap {
  constructor(private readonly deps: { count: WindowCounter; cap: number; clientKey: (request: Request) => string; now?: () => number }) {}

  async charge(request: Request): Promise<void> {
    const now = (this.deps.now ?? Date.now)();
    const day = new Date(now).toISOString().slice(0, 10);
    const used = await this.deps.count(`anon:day:${day}:${this.deps.clientKey(request)}`, 2 * 86_400);
    if (used <= this.deps.cap) return;
    const retryAfterSeconds = Math.max(1, Math.ceil((Date.parse(`${day}T00:00:00Z`) + 86_400_000 - now) / 1000));
    throw new AppError("rate-limited", `anonymous creates are capped at ${this.deps.cap} a day per client (ANONYMOUS_CREATE_PER_DAY); use an API key, or try again tomorrow (UTC)`, {
      retryAfterSeconds,
      headers: { "retry-after": String(retryAfterSeconds) },
    });
  }
}
