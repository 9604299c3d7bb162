import type { RateLimiter } from "../infra/rate-limit/rate-limiter";
import type { Principal } from "../modules/keys/key-ring";
import { rateLimitHeaders, rateLimitedError } from "./rate-limit-headers";

/**
 * Charges a write or management request to its budget: a key's own (`keyed`, higher) when it
 * carries one, else the client address's `create` budget. Returns the RateLimit headers to send;
 * over budget it throws the 429.
 */
export function rateGate(limiter: RateLimiter | null, clientKey: (request: Request) => string) {
  return async (request: Request, principal: Principal | null): Promise<Record<string, string>> => {
    if (!limiter) return {};
    const decision = principal ? await limiter.consume("keyed", `key:${principal.keyId}`, 1) : await limiter.consume("create", clientKey(request), 1);
    if (!decision.allowed) throw rateLimitedError(decision);
    return rateLimitHeaders(decision);
  };
}
