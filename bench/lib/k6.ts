import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { LoadResult } from "./load-result";
import { ROOT, startChild } from "./proc";

/** True when a `k6` binary is on PATH (the runner then uses the k6 scripts instead of wrk). */
export function hasK6(): boolean {
  return Bun.which("k6") !== null;
}

/** The end-of-test data k6 hands to handleSummary (the part read here; bench/k6/common.ts has the same type). */
export interface SummaryData {
  metrics: { [name: string]: { type: string; values: { [stat: string]: number }; thresholds?: { [expr: string]: { ok: boolean } } } };
}

export interface K6Outcome {
  data: SummaryData;
  /** k6 exits 99 when a threshold failed. */
  exitCode: number;
  failedThresholds: string[];
}

/**
 * Runs one bench/k6 script with `env` as -e pairs; handleSummary writes the end-of-test data to
 * SUMMARY_JSON, which is read back.
 *
 * @example await runK6("redirects", { BASE_URL: url, RATE: "2000", DURATION: "10s" }, workDir)
 */
export async function runK6(script: string, env: Record<string, string>, workDir: string, label: string): Promise<K6Outcome> {
  const summary = join(workDir, `k6-${label}-${Date.now()}.json`);
  const args = Object.entries({ ...env, SUMMARY_JSON: summary }).flatMap(([k, v]) => ["-e", `${k}=${v}`]);
  const child = startChild(`k6 ${label}`, ["k6", "run", "--quiet", "--no-usage-report", ...args, join(ROOT, "bench/k6", `${script}.ts`)]);
  const exitCode = await child.done;
  let data: SummaryData;
  try {
    data = JSON.parse(readFileSync(summary, "utf8")) as SummaryData;
  } catch {
    throw new Error(`k6 ${label} exited ${exitCode} without a summary:\n${child.stdout().slice(-2000)}\n${child.stderr().slice(-2000)}`);
  }
  const failedThresholds = Object.entries(data.metrics).flatMap(([name, m]) =>
    Object.entries(m.thresholds ?? {})
      .filter(([, t]) => !t.ok)
      .map(([expr]) => `${name}: ${expr}`),
  );
  return { data, exitCode, failedThresholds };
}

const v = (data: SummaryData, metric: string, stat: string): number => data.metrics[metric]?.values[stat] ?? 0;

/** The measured-phase figures of redirects.ts / fallback.ts as a LoadResult. */
export function k6Redirects(o: K6Outcome, label: string, durationS: number, phaseTag = "{phase:measured}"): LoadResult {
  const d = o.data;
  const hit = v(d, `cache_hit${phaseTag}`, "passes");
  const miss = v(d, `cache_hit${phaseTag}`, "fails");
  const sources: Record<string, number> = {};
  for (const [name, m] of Object.entries(d.metrics)) {
    const match = /^source_(\w+)$/.exec(name);
    if (match) sources[`*:${match[1]}`] = m.values.count ?? 0;
  }
  return k6Result(d, label, durationS, { requestsMetric: `http_reqs${phaseTag}`, trend: `redirect_duration${phaseTag}` }, { counts: { hit, miss, s3xx: hit + miss }, sources });
}

export function k6Creates(o: K6Outcome, label: string, durationS: number): LoadResult {
  const d = o.data;
  const counts = {
    created: v(d, "unique_created", "passes"),
    unexpected_dedupe: v(d, "unique_created", "fails"),
    repeat_ok: v(d, "repeat_same_code", "passes"),
    repeat_mismatch: v(d, "repeat_same_code", "fails"),
  };
  return k6Result(d, label, durationS, { requestsMetric: "http_reqs{name:POST /create}", trend: "http_req_duration{name:POST /create}" }, { counts, sources: {} });
}

/** What every k6 scenario reports alike: requests (of `requestsMetric`, else all), latency of `trend`, failures, drops. */
function k6Result(d: SummaryData, label: string, durationS: number, metrics: { requestsMetric: string; trend: string }, specific: Pick<LoadResult, "counts" | "sources">): LoadResult {
  const requests = v(d, metrics.requestsMetric, "count") || v(d, "http_reqs", "count");
  const t = metrics.trend;
  return {
    tool: "k6",
    label,
    seconds: durationS,
    requests,
    rps: requests / durationS,
    latencyMs: { p50: v(d, t, "med"), p95: v(d, t, "p(95)"), p99: v(d, t, "p(99)"), max: v(d, t, "max"), mean: v(d, t, "avg") },
    failed: Math.round(v(d, "http_req_failed", "rate") * v(d, "http_reqs", "count")),
    socketErrors: 0,
    status: {},
    shards: {},
    dropped: v(d, "dropped_iterations", "count"),
    ...specific,
  };
}
