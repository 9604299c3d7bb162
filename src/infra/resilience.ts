import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  TaskCancelledError,
  TimeoutStrategy,
  circuitBreaker,
  handleWhen,
  retry,
  timeout,
  wrap,
  type IPolicy,
} from "cockatiel";
import { InfraError } from "../errors";

/**
 * One node's resilience policy: a timeout on every call, a circuit breaker that skips a node
 * that keeps failing (so a dead node costs microseconds, not a timeout per request), and for
 * idempotent calls a bounded retry with jittered exponential backoff.
 *
 * cockatiel's defaults are unsafe for us (retry() with no options retries forever with no
 * delay), so every option is explicit here and nowhere else.
 *
 * @example
 *   const policy = new NodePolicy("redis-0", { timeoutMs: 100, retries: 1, breakAfter: 5, halfOpenAfterMs: 2000 });
 *   const value = await policy.run((signal) => redis.get(key), { idempotent: true });
 */
export interface NodePolicyOptions {
  timeoutMs: number;
  /** Retries after the first call (cockatiel's maxAttempts counts retries, not calls). */
  retries: number;
  breakAfter: number;
  halfOpenAfterMs: number;
}

export type BreakerState = "closed" | "open" | "half-open";

export class NodePolicy {
  private readonly breaker;
  private readonly once: IPolicy;
  private readonly withRetry: IPolicy;
  private readonly listeners = new Set<(state: BreakerState) => void>();

  constructor(
    readonly node: string,
    options: NodePolicyOptions,
  ) {
    this.breaker = circuitBreaker(handleWhen(isNodeFailure), {
      halfOpenAfter: options.halfOpenAfterMs,
      breaker: new ConsecutiveBreaker(options.breakAfter),
    });
    this.breaker.onStateChange((state) => {
      for (const listener of this.listeners) listener(toBreakerState(state));
    });
    // Aggressive: a hung node (SIGSTOP, blackhole) must not hold the request past the budget.
    const callTimeout = timeout(options.timeoutMs, TimeoutStrategy.Aggressive);
    this.once = wrap(this.breaker, callTimeout);
    const retryPolicy = retry(handleWhen(isRetryable), {
      maxAttempts: options.retries,
      backoff: new ExponentialBackoff({ initialDelay: 5, maxDelay: Math.max(5, options.timeoutMs / 2) }),
    });
    this.withRetry = wrap(retryPolicy, this.breaker, callTimeout);
  }

  /** Runs `call` under the policy; every failure comes out as an InfraError. */
  async run<T>(call: (signal: AbortSignal) => Promise<T>, opts: { idempotent: boolean }): Promise<T> {
    const policy = opts.idempotent ? this.withRetry : this.once;
    try {
      return await policy.execute(({ signal }) => call(signal));
    } catch (error) {
      throw this.asInfraError(error);
    }
  }

  get state(): BreakerState {
    return toBreakerState(this.breaker.state);
  }

  /** True while calls are being skipped; half-open lets one probe through. */
  get isOpen(): boolean {
    return this.breaker.state === CircuitState.Open || this.breaker.state === CircuitState.Isolated;
  }

  onStateChange(listener: (state: BreakerState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private asInfraError(error: unknown): InfraError {
    if (error instanceof InfraError) return error;
    if (error instanceof BrokenCircuitError) return new InfraError(this.node, "circuit open; node skipped", true, error);
    if (error instanceof TaskCancelledError) return new InfraError(this.node, "timed out", true, error);
    const message = error instanceof Error ? error.message : String(error);
    return new InfraError(this.node, message, isTransient(error), error);
  }
}

function toBreakerState(state: CircuitState): BreakerState {
  if (state === CircuitState.Closed) return "closed";
  if (state === CircuitState.HalfOpen) return "half-open";
  return "open";
}

/** A deterministic failure (bad SQL, constraint) says nothing about the node's health. */
function isNodeFailure(error: unknown): boolean {
  return isTransient(error);
}

function isRetryable(error: unknown): boolean {
  return !(error instanceof BrokenCircuitError) && isTransient(error);
}

const PERMANENT_PG_CLASSES = ["22", "23", "42"]; // data exception, integrity violation, syntax/access

export function isTransient(error: unknown): boolean {
  if (error instanceof InfraError) return error.transient;
  if (error instanceof TaskCancelledError) return true;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) {
    return !PERMANENT_PG_CLASSES.includes(code.slice(0, 2)) && code !== "25006";
  }
  return true;
}
