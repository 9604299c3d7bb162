import type { RateDecision, RateLimiter } from "./rate-limiter";
import { rateLimitHeaders, rateLimitedError } from "./rate-limit-headers";

/**
 * Charges each link a bulk or import call creates to its key's budget (`keyed`: one token a
 * link, on top of the request's own token). The items that ask in the same tick (a bulk call's
 * items, an import chunk) are reserved together, in one call to the limiter whatever their
 * number, and granted in the order they asked; those beyond the grant are refused with
 * `rate-limited`, naming the budget, and never created. `headers` are the RateLimit headers after
 * the last reservation, which is what the answer should carry.
 *
 * @example
 *   const budget = new CreateBudget(limiter, principal.keyId);
 *   const create = budget.charged((url: string) => links.create(url, { owner }));
 *   await Promise.all(urls.map((u) => create(u).catch(...))); // one reservation for all of them
 *   Object.assign(set.headers, budget.headers());
 */
export class CreateBudget {
  private waiting: Array<{ resolve: () => void; reject: (error: unknown) => void }> = [];
  private last: RateDecision | null = null;

  constructor(
    private readonly limiter: RateLimiter | null,
    private readonly keyId: string,
  ) {}

  /** `create`, paid for before it runs; refused (never run) when the budget is spent. */
  charged<A extends unknown[], R>(create: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
    return async (...args) => {
      await this.pay();
      return create(...args);
    };
  }

  /** The RateLimit headers after the last reservation; `otherwise` when none was made. */
  headers(otherwise: Record<string, string> = {}): Record<string, string> {
    return this.last ? rateLimitHeaders(this.last) : otherwise;
  }

  private pay(): Promise<void> {
    if (!this.limiter) return Promise.resolve();
    return new Promise((resolve, reject) => {
      if (this.waiting.push({ resolve, reject }) === 1) queueMicrotask(() => void this.reserve(this.limiter!));
    });
  }

  private async reserve(limiter: RateLimiter): Promise<void> {
    const batch = this.waiting;
    this.waiting = [];
    try {
      const decision = await limiter.take("keyed", `key:${this.keyId}`, batch.length);
      this.last = decision;
      const refusal = decision.granted < batch.length ? rateLimitedError(decision, `over this key's budget of ${decision.limit} links per ${decision.windowSeconds} s (RATE_LIMIT_KEY_PER_MIN); not created`) : null;
      batch.forEach((item, i) => (i < decision.granted ? item.resolve() : item.reject(refusal)));
    } catch (error) {
      for (const item of batch) item.reject(error);
    }
  }
}
