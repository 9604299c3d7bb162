import { AppError } from "../../errors";
import type { RateDecision } from "./rate-limiter";

/** IETF RateLimit header fields (draft-ietf-httpapi-ratelimit-headers), plus Retry-After on 429. */
export function rateLimitHeaders(decision: RateDecision): Record<string, string> {
  return {
    "ratelimit-limit": String(decision.limit),
    "ratelimit-remaining": String(decision.remaining),
    "ratelimit-reset": String(Math.ceil(decision.resetMs / 1000)),
    "ratelimit-policy": `${decision.limit};w=${decision.windowSeconds}`,
  };
}

/** `what` names the budget that is spent, for the message. */
export function rateLimitedError(decision: RateDecision, what = "too many requests"): AppError {
  const retryAfterSeconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
  return new AppError("rate-limited", `${what}; retry in ${retryAfterSeconds} s`, {
    retryAfterSeconds,
    headers: rateLimitHeaders(decision),
  });
}
