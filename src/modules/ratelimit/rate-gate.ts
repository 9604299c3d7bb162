import type { RateLimiter } from "./rate-limiter";
import type { MemoryAdmission } from "./memory-admission";
import type { Principal } from "../../domain/api-key";
import { rateLimitHeaders, rateLimitedError } from "./rate-limit-headers";

/**
 * Charges a write or management request to its budget: a key's own (`keyed`, higher, in Redis:
 * a key's bulk calls reserve from the same bucket) when it carries one, else the client
 * address's `create` budget, decided in memory (`creates`). Returns the RateLimit headers to
 * send; over budget it throws the 429.
 */
export function rateGate(limiter: RateLimiter | null, creates: MemoryAdmission | null, clientKey: (request: Request) => string) {
  return async (request: Request, principal: Principal | null): Promise<Record<string, string>> => {
    if (!limiter || !creates) return {};
    const decision = principal ? await limiter.consume("keyed", `key:${principal.keyId}`, 1) : creates.admit(clientKey(request), 1);
    if (!decision.allowed) throw rateLimitedError(decision);
    return rateLimitHeaders(decision);
  };
}

/**
 * The KeyRing's lookup gate: a credential this instance does not know as a valid key costs the
 * client address one token of its `auth` budget before it is checked, so wrong keys, random or
 * repeated, get 429s once the address has spent that budget (and the catalog hears of them no
 * more). A key that proves valid gets its token back: the budget counts wrong keys only.
 */
export function keyLookupGate(limiter: RateLimiter, clientKey: (request: Request) => string) {
  return {
    async charge(request: Request): Promise<void> {
      const decision = await limiter.consume("auth", clientKey(request), 1);
      if (!decision.allowed) throw rateLimitedError(decision, "too many API keys this server does not know from this address (RATE_LIMIT_AUTH_PER_MIN)");
    },
    async refund(request: Request): Promise<void> {
      await limiter.consume("auth", clientKey(request), -1);
    },
  };
}
