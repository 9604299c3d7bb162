/**
 * Shared by the k6 scripts: configuration from __ENV, the code set, and handleSummary.
 * Stock k6 only: no npm imports, no remote modules. Relative imports of .ts files work in k6
 * (it transpiles TypeScript itself), so the scripts import from "./common.ts".
 */
import http from "k6/http";

export function env(name: string, fallback: string): string {
  const v = __ENV[name];
  return v === undefined || v === "" ? fallback : v;
}

export function num(name: string, fallback: number): number {
  const raw = __ENV[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n)) throw new Error(`${name} must be a number, got ${raw}`);
  return n;
}

export const BASE_URL = env("BASE_URL", "http://127.0.0.1:8080").replace(/\/+$/, "");

export interface CodeSet {
  hot: string[];
  cold: string[];
}

/**
 * The codes to read, from (in order) CODES_FILE (lines "<code> <hot|cold> [shard]", the runner's
 * format), CODES (comma-separated, all hot), or none (setup() creates them). open() only works
 * in the init context, so this runs at module load.
 */
export function codesFromEnv(): CodeSet | null {
  const file = env("CODES_FILE", "");
  if (file !== "") {
    const set: CodeSet = { hot: [], cold: [] };
    for (const line of open(file).split("\n")) {
      const [code, kind] = line.trim().split(/\s+/);
      if (code) (kind === "cold" ? set.cold : set.hot).push(code);
    }
    return set;
  }
  const list = env("CODES", "");
  if (list !== "") return { hot: list.split(",").map((c) => c.trim()).filter((c) => c.length > 0), cold: [] };
  return null;
}

/** Creates `hot` + `cold` links through the API (setup() of scripts run without CODES). */
export function createCodes(hot: number, cold: number, tag: string): CodeSet {
  const set: CodeSet = { hot: [], cold: [] };
  const run = `${tag}-${Date.now().toString(36)}`;
  for (let i = 0; i < hot + cold; i++) {
    const res = http.post(`${BASE_URL}/create`, JSON.stringify({ url: `https://k6.bench.example/${run}/${i}` }), { headers: { "Content-Type": "application/json" }, tags: { name: "setup-create" } });
    if (res.status !== 201 && res.status !== 200) throw new Error(`setup: POST /create answered ${res.status}: ${String(res.body)}`);
    const code = (res.json() as { short_code?: string }).short_code;
    if (!code) throw new Error("setup: POST /create returned no short_code");
    (i < hot ? set.hot : set.cold).push(code);
  }
  return set;
}

export function pickCode(set: CodeSet, hotShare: number): string {
  const from = set.cold.length === 0 || (set.hot.length > 0 && Math.random() < hotShare) ? set.hot : set.cold;
  return from[Math.floor(Math.random() * from.length)]!;
}

/** A response header regardless of case (k6 canonicalises names: "X-Cache"). */
export function header(headers: { [name: string]: string }, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const key in headers) if (key.toLowerCase() === wanted) return headers[key];
  return undefined;
}

/** The part of k6's end-of-test data these scripts and the runner read. */
export interface SummaryData {
  metrics: { [name: string]: { type: string; values: { [stat: string]: number }; thresholds?: { [expr: string]: { ok: boolean } } } };
  [key: string]: unknown;
}

/**
 * handleSummary: the full data as JSON to SUMMARY_JSON (the runner reads it) and a few lines on
 * stdout, including every threshold's verdict.
 */
export function summaryOutputs(data: SummaryData, title: string): { [target: string]: string } {
  const lines = [`${title}:`];
  for (const [name, m] of Object.entries(data.metrics)) {
    for (const [expr, t] of Object.entries(m.thresholds ?? {})) lines.push(`  ${t.ok ? "ok  " : "FAIL"} ${name}: ${expr}`);
  }
  const reqs = data.metrics.http_reqs?.values;
  const dur = data.metrics.http_req_duration?.values;
  if (reqs) lines.push(`  http_reqs ${reqs.count} (${(reqs.rate ?? 0).toFixed(1)}/s)`);
  if (dur) lines.push(`  http_req_duration p50 ${dur.med?.toFixed(2)} ms p95 ${dur["p(95)"]?.toFixed(2)} ms p99 ${dur["p(99)"]?.toFixed(2)} ms`);
  const out: { [target: string]: string } = { stdout: `${lines.join("\n")}\n` };
  const file = env("SUMMARY_JSON", "");
  if (file !== "") out[file] = JSON.stringify(data);
  return out;
}

export const TREND_STATS = ["avg", "min", "med", "max", "p(90)", "p(95)", "p(99)", "count"];
