import { BrokenCircuitError, CircuitState, ConsecutiveBreaker, ExponentialBackoff, circuitBreaker, handleWhen, retry, wrap, type IPolicy } from "cockatiel";
import { InfraError } from "../errors";
import { DeadlineSweeper } from "./deadline";

/**
 * One node's resilience policy: a timeout on every call, a circuit breaker that skips a node
 * that keeps failing (so a dead node costs microseconds, not a timeout per request), and for
 * idempotent calls a bounded retry with jittered exponential backoff.
 *
 * Breaker and retry are cockatiel's. Its defaults are unsafe for us (retry() with no options
 * retries forever with no delay; maxAttempts counts retries, not calls), so every option is
 * explicit here and nowhere else. The timeout is ours (infra/deadline.ts): cockatiel's costs an
 * AbortController and a timer per call, which we measured at ~30% of redirect throughput.
 *
 * @example
 *   const policy = new NodePolicy("redis-0", { timeoutMs: 100, retries: 1, breakAfter: 5, halfOpenAfterMs: 2000 });
 *   const value = await policy.run(() => redis.get(key), { idempotent: true });
 *   const rows = await policy.run((onTimeout) => { const q = sql`...`; onTimeout(() => q.cancel()); return q; }, { idempotent: true });
 */
export interface NodePolicyOptions {
  timeoutMs: number;
  /** Retries after the first call. */
  retries: number;
  breakAfter: number;
  halfOpenAfterMs: number;
}

export type BreakerState = "closed" | "open" | "half-open";

/** Lets a call register what to do when its deadline passes (cancel a query, say). */
export type OnTimeout = (cancel: () => void) => void;

export class NodePolicy {
  private readonly breaker;
  private readonly withRetry: IPolicy;
  private readonly deadlines: DeadlineSweeper;
  private readonly listeners = new Set<(state: BreakerState) => void>();

  constructor(
    readonly node: string,
    private readonly options: NodePolicyOptions,
  ) {
    this.breaker = circuitBreaker(handleWhen(isTransient), {
      halfOpenAfter: options.halfOpenAfterMs,
      breaker: new ConsecutiveBreaker(options.breakAfter),
    });
    this.breaker.onStateChange((state) => {
      for (const listener of this.listeners) listener(toBreakerState(state));
    });
    const retryPolicy = retry(handleWhen(isRetryable), {
      maxAttempts: options.retries,
      backoff: new ExponentialBackoff({ initialDelay: 5, maxDelay: Math.max(5, options.timeoutMs / 2) }),
    });
    this.withRetry = wrap(retryPolicy, this.breaker);
    this.deadlines = new DeadlineSweeper(options.timeoutMs);
  }

  /** Runs `call` under the policy; every failure comes out as an InfraError. */
  async run<T>(call: (onTimeout: OnTimeout) => Promise<T>, opts: { idempotent: boolean }): Promise<T> {
    const attempt = () => this.withDeadline(call);
    try {
      return await (opts.idempotent && this.options.retries > 0 ? this.withRetry.execute(attempt) : this.breaker.execute(attempt));
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

  private withDeadline<T>(call: (onTimeout: OnTimeout) => Promise<T>): Promise<T> {
    let cancel: (() => void) | undefined;
    const promise = call((fn) => (cancel = fn));
    return this.deadlines.race(promise, () => {
      cancel?.();
      return new InfraError(this.node, `timed out after ${this.options.timeoutMs} ms`, true);
    });
  }

  private asInfraError(error: unknown): InfraError {
    if (error instanceof InfraError) return error;
    if (error instanceof BrokenCircuitError) return new InfraError(this.node, "circuit open; node skipped", true, error);
    const message = error instanceof Error ? error.message : String(error);
    return new InfraError(this.node, message, isTransient(error), error);
  }
}

function toBreakerState(state: CircuitState): BreakerState {
  if (state === CircuitState.Closed) return "closed";
  if (state === CircuitState.HalfOpen) return "half-open";
  return "open";
}

function isRetryable(error: unknown): boolean {
  return !(error instanceof BrokenCircuitError) && isTransient(error);
}

// Data exception, integrity violation, syntax/access: the request is wrong, not the node.
const PERMANENT_PG_CLASSES = ["22", "23", "42"];

/** Whether trying again (or elsewhere) can help. A deterministic failure says nothing about the node's health. */
export function isTransient(error: unknown): boolean {
  if (error instanceof InfraError) return error.transient;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) {
    // 25006: a write reached a read-only (standby) node; retrying the same node cannot help.
    return !PERMANENT_PG_CLASSES.includes(code.slice(0, 2)) && code !== "25006";
  }
  return true;
}
