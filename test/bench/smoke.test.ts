import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * CI smoke of the benchmark: `bun bench/run.ts all --smoke` (its own cluster and servers, a few
 * seconds per scenario, low load) must exit 0, and its JSON report must show the key thresholds
 * held. Smoke mode checks correctness only (hit-rate floor, zero failed redirects under faults,
 * same code for repeats, event schema), never speed: no throughput ratio is asserted.
 */
const ROOT = new URL("../../", import.meta.url).pathname;
const out = mkdtempSync(join(tmpdir(), "bench-smoke-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

interface Check {
  scenario: string;
  name: string;
  ok: boolean;
  value: unknown;
}

describe("bench smoke (all scenarios)", () => {
  test(
    "runs every scenario with all thresholds held",
    async () => {
      const proc = Bun.spawn([process.execPath, "bench/run.ts", "all", "--smoke", "--out", out], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
      const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
      const code = await proc.exited;
      const failures = stderr.split("\n").filter((l) => /FAIL|failed:|Error/.test(l));
      if (code !== 0) console.error(stderr.slice(-6000));
      expect(code, `bench exited ${code}:\n${failures.join("\n")}`).toBe(0);

      const line = stdout.split("\n").find((l) => l.startsWith("BENCH_RESULT "));
      expect(line).toBeDefined();
      const result = JSON.parse(line!.slice("BENCH_RESULT ".length)) as { ok: boolean; stamp: string; scenarios: string[] };
      expect(result.ok).toBe(true);
      expect(result.scenarios).toEqual(["redirects", "events", "zipf", "creates", "fallback"]);

      const summary = JSON.parse(readFileSync(join(out, `${result.stamp}-all-smoke`, "summary.json"), "utf8")) as { ok: boolean; checks: Check[]; targets: unknown[] };
      expect(summary.ok).toBe(true);
      expect(summary.targets).toEqual([]); // smoke: no speed targets
      const check = (scenario: string, name: string) => {
        const c = summary.checks.find((x) => x.scenario === scenario && x.name.startsWith(name));
        expect(c, `${scenario}: ${name}`).toBeDefined();
        return c!;
      };
      expect(check("redirects", "cache hit rate once warm").ok).toBe(true);
      expect(check("redirects", "failed redirects (non-3xx").value).toBe(0);
      expect(check("redirects", "clicks in link_clicks minus 302s served").value).toBe(0);
      expect(check("zipf", "links seeded").ok).toBe(true);
      expect(check("zipf", "failed redirects").value).toBe(0);
      expect(check("zipf", "clicks lost").value).toBe(0);
      expect(check("fallback", "failed redirects while any single node is down").value).toBe(0);
      expect(check("fallback", "redis_down: database answers on other shards").value).toBe(0);
      expect(check("fallback", "hit rate after Redis returned").ok).toBe(true);
      expect(check("creates", "repeated URLs answered with another code").value).toBe(0);
      expect(check("creates", "repeated URLs answered with their first code").ok).toBe(true);
      expect(check("events", "events failing the schema").value).toBe(0);
      expect(check("events", "events received by the subscriber").ok).toBe(true);
    },
    240_000,
  );
});
