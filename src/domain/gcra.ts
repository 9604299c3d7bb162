/**
 * GCRA (generic cell rate algorithm): a token bucket kept as one number, the theoretical
 * arrival time (TAT). Smoother than a fixed window (no double burst at a window edge) and one
 * key per client. The same arithmetic runs in Redis (modules/ratelimit/gcra-script.ts) and in
 * memory when Redis is down.
 *
 * @example
 *   const params = gcraParams({ perMinute: 60 });       // 1 token/s, burst 60
 *   const r = gcraStep(undefined, Date.now(), params, 1);
 *   r.allowed; r.tat // store r.tat for the next call
 */
export interface GcraParams {
  /** Milliseconds per token. */
  emissionMs: number;
  /** Tokens that may be spent at once. */
  burst: number;
}

export interface GcraResult {
  allowed: boolean;
  /** The new TAT to store (unchanged when refused). */
  tat: number;
  retryAfterMs: number;
  remaining: number;
  /** Milliseconds until the bucket is full again. */
  resetMs: number;
}

export function gcraParams(options: { perMinute: number; burst?: number }): GcraParams {
  return { emissionMs: 60_000 / options.perMinute, burst: options.burst ?? options.perMinute };
}

/**
 * `force`: charge even when the bucket cannot pay, going into debt of up to one more burst
 * (the extra charge for a 404: a prober then gets one 404 per `cost` tokens, not one per token).
 */
export function gcraStep(storedTat: number | undefined, now: number, params: GcraParams, cost: number, force = false): GcraResult {
  const { emissionMs, burst } = params;
  const tat = Math.max(storedTat ?? now, now);
  const newTat = tat + emissionMs * cost;
  const allowAt = newTat - burst * emissionMs;
  if (now < allowAt && force) {
    const owed = Math.min(newTat, now + 2 * burst * emissionMs);
    return { allowed: false, tat: owed, retryAfterMs: Math.ceil(owed - burst * emissionMs - now), remaining: 0, resetMs: Math.ceil(owed - now) };
  }
  if (now < allowAt) {
    return {
      allowed: false,
      tat,
      retryAfterMs: Math.ceil(allowAt - now),
      remaining: Math.max(0, Math.floor((now - (tat - burst * emissionMs)) / emissionMs)),
      resetMs: Math.ceil(tat - now),
    };
  }
  return {
    allowed: true,
    tat: newTat,
    retryAfterMs: 0,
    remaining: Math.max(0, Math.floor((now - allowAt) / emissionMs)),
    resetMs: Math.ceil(newTat - now),
  };
}

export interface GcraTake {
  /** Tokens taken: at most what was asked for. */
  granted: number;
  /** The new TAT to store (unchanged when nothing was granted). */
  tat: number;
  /** Milliseconds until one more token; 0 when everything asked for was granted. */
  retryAfterMs: number;
  remaining: number;
  resetMs: number;
}

// TATs are epoch milliseconds with fractions: the slack keeps float rounding from costing a token.
const TAKE_SLACK_MS = 0.01;

/**
 * Takes as many of `wanted` tokens as the bucket holds now, in one step: what a batch of `wanted`
 * items needs to learn how many of them may go ahead, without a call per item.
 */
export function gcraTake(storedTat: number | undefined, now: number, params: GcraParams, wanted: number): GcraTake {
  const { emissionMs, burst } = params;
  const tat = Math.max(storedTat ?? now, now);
  const available = Math.max(0, Math.floor((now + burst * emissionMs - tat + TAKE_SLACK_MS) / emissionMs));
  const granted = Math.min(wanted, available);
  const newTat = tat + granted * emissionMs;
  return {
    granted,
    tat: newTat,
    retryAfterMs: granted < wanted ? Math.ceil(newTat + emissionMs - burst * emissionMs - now) : 0,
    remaining: available - granted,
    resetMs: Math.ceil(newTat - now),
  };
}
