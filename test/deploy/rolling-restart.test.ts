/**
 * Rolling restart behind the real HAProxy with zero failed requests: each instance in turn gets
 * SIGTERM (readiness 503 → HAProxy marks it DOWN within inter + fastinter → the drain ends → the
 * listener stops → exit 0) and is started again on the same port, under continuous load.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { backendStats } from "../../scripts/deploy/haproxy-runtime";
import { startFleet, startLoad, TEST_CHECK, type Fleet, type HaproxyProcess } from "../../harness/haproxy";
import type { ServerProcess } from "../../harness/server-process";
import { uniqueUrl } from "../../harness/system";

const DRAIN_MS = 1000;
const IDS = [21, 22, 23];
const ENV = { RATE_LIMIT_ENABLED: "false", SHUTDOWN_DRAIN_MS: String(DRAIN_MS), SHUTDOWN_GRACE_MS: "5000" };

describe("rolling restart behind HAProxy", () => {
  let fleet: Fleet | undefined;
  let instances: ServerProcess[] = [];
  let lb: HaproxyProcess;

  beforeAll(async () => {
    // Draining must outlast HAProxy's detection, or requests meet a closed port (then only retries save them).
    expect(DRAIN_MS).toBeGreaterThan(TEST_CHECK.interMs + (TEST_CHECK.fall - 1) * TEST_CHECK.fastinterMs + 200);
    fleet = await startFleet(IDS, () => ENV);
    ({ instances, lb } = fleet);
  }, 60_000);

  afterAll(() => fleet?.stop());

  test("SIGTERM + restart of each instance in turn under load: zero failed requests", async () => {
    const res = await fetch(`${lb.url}/create`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ url: uniqueUrl("rolling") }) });
    expect(res.status).toBe(201);
    const { short_code: code } = (await res.json()) as { short_code: string };

    const retryCounters = async () => {
      const rows = (await backendStats(lb.statsPort)).filter((r) => r.svname !== "BACKEND");
      return { retries: rows.reduce((n, r) => n + Number(r.wretr || 0), 0), redispatches: rows.reduce((n, r) => n + Number(r.wredis || 0), 0) };
    };
    const before = await retryCounters();
    // ~8 workers pausing 25 ms: a few hundred requests/s, bounded by count and time.
    const load = startLoad(`${lb.url}/${code}`, { concurrency: 8, maxRequests: 8000, durationMs: 40_000, pauseMs: 25 });
    const t0 = performance.now();
    const steps: string[] = [];
    await Bun.sleep(1000);

    for (let i = 0; i < instances.length; i++) {
      const old = instances[i]!;
      const signalAt = performance.now();
      old.proc.kill("SIGTERM");
      // Watch HAProxy's view while the process drains: it must be DOWN before the process is gone.
      let downAt = 0;
      const watch = (async () => {
        while (old.proc.exitCode === null && old.proc.signalCode === null) {
          const state = (await lb.states().catch(() => new Map<number, string>())).get(old.port) ?? "";
          if (state.startsWith("DOWN")) {
            downAt = performance.now();
            return;
          }
          await Bun.sleep(25);
        }
      })();
      const exitCode = await old.proc.exited;
      const exitAt = performance.now();
      await watch;
      expect(exitCode).toBe(0);
      expect(downAt, `instance ${IDS[i]}: HAProxy still routed to it when it exited`).toBeGreaterThan(0);

      const fresh = await fleet!.restart(i);
      await lb.waitStatus(fresh.port, "UP", 10_000);
      const upAt = performance.now();
      steps.push(`#${IDS[i]}: DOWN in HAProxy ${Math.round(downAt - signalAt)} ms after SIGTERM, exited (code ${exitCode}) at ${Math.round(exitAt - signalAt)} ms, UP again ${Math.round(upAt - exitAt)} ms later`);
      await Bun.sleep(2000);
    }
    await Bun.sleep(1000);
    const result = await load.stop();
    const elapsed = Math.round(performance.now() - t0);
    const after = await retryCounters();
    const retried = { retries: after.retries - before.retries, redispatches: after.redispatches - before.redispatches };

    console.log(
      `rolling restart: ${result.sent} requests in ${elapsed} ms, ${result.ok} ok, ${result.failed} failed; HAProxy retries ${retried.retries}, redispatches ${retried.redispatches}; by instance ${JSON.stringify(Object.fromEntries(result.byInstance))}\n  ${steps.join("\n  ")}` +
        (result.failures.length ? `\n  failures: ${result.failures.join(" | ")}` : ""),
    );
    expect(result.sent).toBeGreaterThan(1000);
    expect(result.failed).toBe(0);
    // Graceful means no request even needed HAProxy's retry safety net.
    expect(retried).toEqual({ retries: 0, redispatches: 0 });
    for (const id of IDS) expect(result.byInstance.get(String(id)) ?? 0).toBeGreaterThan(0);
  }, 90_000);
});
