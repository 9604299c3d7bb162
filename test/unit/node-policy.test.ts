/**
 * NodePolicy's rules with calls that succeed, fail or hang on command (no I/O): what a breaker
 * counts, when it opens and lets a probe through, how many attempts a call gets, and that a
 * deadline rejects a hung call (cancelling it when it can be). Whichever path a call takes
 * inside (the closed-and-clean fast path or cockatiel's), these must hold.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { InfraError, StatementError } from "../../src/errors";
import { NodePolicy } from "../../src/storage/resilience";

const NODE_FAILURE = Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
const BAD_STATEMENT = Object.assign(new Error("invalid input syntax"), { code: "22P02" });
const classify = (error: unknown) => (error === NODE_FAILURE ? { node: true, retryable: true } : { node: false, retryable: false });

function policy(o: Partial<{ timeoutMs: number; retries: number; breakAfter: number; halfOpenAfterMs: number; retryTimeouts: boolean }> = {}) {
  return new NodePolicy("node-x", { timeoutMs: 50, retries: 0, breakAfter: 3, halfOpenAfterMs: 60_000, classify, ...o });
}

/** A call that fails with the given errors in turn, then succeeds; counts its attempts. */
function scripted(errors: unknown[]) {
  let attempts = 0;
  return {
    get attempts() {
      return attempts;
    },
    call: () => {
      const error = errors[attempts++];
      return error === undefined ? Promise.resolve("ok") : Promise.reject(error);
    },
  };
}

describe("NodePolicy", () => {
  test("property: the breaker opens exactly when breakAfter node failures come in a row; successes and statement errors in between decide as a counter would", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 4 }), fc.array(fc.constantFrom("ok", "node", "statement"), { maxLength: 12 }), async (breakAfter, outcomes) => {
        const p = policy({ breakAfter });
        let run = 0;
        let opened = false;
        for (const outcome of outcomes) {
          const call = () => (outcome === "ok" ? Promise.resolve(1) : Promise.reject(outcome === "node" ? NODE_FAILURE : BAD_STATEMENT));
          const result = await p.run(call, { idempotent: false }).then(() => "ok", (e: unknown) => e);
          if (opened) {
            expect(result).toBeInstanceOf(InfraError);
            expect((result as InfraError).message).toContain("circuit open");
            continue;
          }
          if (outcome === "ok") expect(result).toBe("ok");
          else expect(result).toBeInstanceOf(outcome === "node" ? InfraError : StatementError);
          run = outcome === "node" ? run + 1 : outcome === "ok" ? 0 : run;
          opened = run >= breakAfter;
          expect(p.state).toBe(opened ? "open" : "closed");
        }
      }),
      { numRuns: 200 },
    );
  });

  test("an idempotent call gets 1 + retries attempts for node failures, a non-idempotent one a single attempt", async () => {
    for (const retries of [0, 1, 2, 3]) {
      const failing = scripted(Array(10).fill(NODE_FAILURE));
      await expect(policy({ retries, breakAfter: 100 }).run(failing.call, { idempotent: true })).rejects.toBeInstanceOf(InfraError);
      expect(failing.attempts).toBe(1 + retries);
      const once = scripted(Array(10).fill(NODE_FAILURE));
      await expect(policy({ retries, breakAfter: 100 }).run(once.call, { idempotent: false })).rejects.toBeInstanceOf(InfraError);
      expect(once.attempts).toBe(1);
    }
  });

  test("a retried call that succeeds returns its value; a statement error is never retried", async () => {
    const flaky = scripted([NODE_FAILURE, NODE_FAILURE]);
    expect(await policy({ retries: 2, breakAfter: 100 }).run(flaky.call, { idempotent: true })).toBe("ok");
    expect(flaky.attempts).toBe(3);
    const bad = scripted([BAD_STATEMENT, BAD_STATEMENT]);
    const error = await policy({ retries: 2 }).run(bad.call, { idempotent: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StatementError);
    expect((error as StatementError).sqlState).toBe("22P02");
    expect(bad.attempts).toBe(1);
  });

  test("an open breaker skips calls without running them, and after halfOpenAfterMs one probe that succeeds closes it", async () => {
    const p = policy({ breakAfter: 2, halfOpenAfterMs: 40 });
    for (let i = 0; i < 2; i++) await p.run(() => Promise.reject(NODE_FAILURE), { idempotent: false }).catch(() => {});
    expect(p.state).toBe("open");
    const skipped = scripted([]);
    await expect(p.run(skipped.call, { idempotent: true })).rejects.toBeInstanceOf(InfraError);
    expect(skipped.attempts).toBe(0);
    await Bun.sleep(60);
    expect(await p.run(skipped.call, { idempotent: false })).toBe("ok");
    expect(p.state).toBe("closed");
  });

  test("a hung call is rejected as the node's after its deadline, cancelled when it can be, and counted by the breaker", async () => {
    const p = policy({ timeoutMs: 30, breakAfter: 2 });
    const started = performance.now();
    const hung = await p.run(() => new Promise<never>(() => {}), { idempotent: false }).catch((e: unknown) => e);
    const waited = performance.now() - started;
    expect(hung).toBeInstanceOf(InfraError);
    expect((hung as InfraError).transient).toBe(true);
    expect(waited).toBeGreaterThanOrEqual(29);
    let cancelled = 0;
    await p.run((onTimeout) => (onTimeout(() => cancelled++), new Promise<never>(() => {})), { idempotent: false }).catch(() => {});
    expect(cancelled).toBe(1);
    expect(p.state).toBe("open");
  });

  test("a call that throws instead of returning a promise is a rejected call like any other, on both paths", async () => {
    const p = policy({ breakAfter: 2 });
    const throwing = () => {
      throw BAD_STATEMENT;
    };
    let settled: unknown = null;
    const pending = p.run(throwing, { idempotent: true });
    await pending.catch((e: unknown) => (settled = e));
    expect(settled).toBeInstanceOf(StatementError);
    for (let i = 0; i < 2; i++) await p.run(() => Promise.reject(NODE_FAILURE), { idempotent: false }).catch(() => {});
    expect(await p.run(throwing, { idempotent: false }).catch((e: unknown) => e)).toBeInstanceOf(InfraError);
  });

  test("many calls in flight at once: each settles with its own value, and one that hangs among them still times out", async () => {
    const p = policy({ timeoutMs: 30 });
    const values = await Promise.all(Array.from({ length: 200 }, (_, i) => p.run(() => Bun.sleep(i % 7).then(() => i), { idempotent: true })));
    expect(values).toEqual(Array.from({ length: 200 }, (_, i) => i));
    const mixed = await Promise.allSettled([p.run(() => Promise.resolve("a"), { idempotent: false }), p.run(() => new Promise<never>(() => {}), { idempotent: false }), p.run(() => Bun.sleep(5).then(() => "c"), { idempotent: false })]);
    expect(mixed.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
  });

  test("retryTimeouts false: an idempotent call that timed out is not repeated (a primary's write may have committed locally), other node failures still are", async () => {
    for (const retryTimeouts of [true, false]) {
      const p = policy({ retries: 2, timeoutMs: 20, retryTimeouts });
      let attempts = 0;
      const hangsOnce = () => (attempts++ === 0 ? new Promise<string>(() => {}) : Promise.resolve("ok"));
      const result = await p.run(hangsOnce, { idempotent: true }).catch((e: unknown) => e);
      if (retryTimeouts) expect(result).toBe("ok");
      else expect(result).toBeInstanceOf(InfraError);
      expect(attempts).toBe(retryTimeouts ? 2 : 1);
    }
    const q = policy({ retries: 2, retryTimeouts: false });
    const refusedOnce = scripted([NODE_FAILURE]);
    expect(await q.run(refusedOnce.call, { idempotent: true })).toBe("ok");
    expect(refusedOnce.attempts).toBe(2);
  });
});
