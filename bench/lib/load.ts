import { k6Creates, k6Redirects, runK6 } from "./k6";
import type { LoadResult } from "./load-result";
import type { OpenLoopOptions } from "./open-loop";
import { BUN, runJsonChild } from "./proc";
import { runWrk } from "./wrk";

/**
 * The three kinds of load the scenarios need, with the tool chosen once: k6 scripts when k6 is
 * on PATH, else wrk (closed loop, for maximum throughput) and bench/lib/open-loop.ts (fixed rate).
 */
export interface LoadTool {
  tool: "k6" | "wrk";
  workDir: string;
}

export interface RedirectLoad {
  label: string;
  url: string;
  codesFile: string;
  hotShare: number;
  durationS: number;
  connections: number;
  /** How codes are picked (bench/wrk/redirects.lua DIST): hot/cold by hotShare (default), Zipf over ranks, or uniform. */
  dist?: "hotcold" | "zipf" | "uniform";
  /** Zipf exponent for dist "zipf" (default 1). */
  zipfS?: number;
}

/** Closed loop: as fast as `connections` concurrent clients go. */
export async function redirectsMax(t: LoadTool, o: RedirectLoad): Promise<LoadResult> {
  const dist = o.dist ?? "hotcold";
  if (t.tool === "wrk") {
    return runWrk({ label: o.label, url: o.url, script: "redirects", env: { CODES_FILE: o.codesFile, HOT_SHARE: String(o.hotShare), DIST: dist, ZIPF_S: String(o.zipfS ?? 1) }, connections: o.connections, durationS: o.durationS });
  }
  if (dist !== "hotcold") throw new Error(`redirects with DIST=${dist} are driven by wrk only (bench/wrk/redirects.lua); run with --tool wrk`);
  // Thresholds are the runner's business here (it compares runs); the script's are relaxed.
  const env = { BASE_URL: o.url, CODES_FILE: o.codesFile, HOT_SHARE: String(o.hotShare), EXECUTOR: "vus", VUS: String(o.connections), DURATION: `${o.durationS}s`, WARMUP: "1s", HIT_RATE_FLOOR: "0", P99_MS: "60000" };
  return k6Redirects(await runK6("redirects", env, t.workDir, o.label), o.label, o.durationS);
}

/** Open loop at `rate` req/s (coordinated-omission safe). */
export async function redirectsFixed(t: LoadTool, o: RedirectLoad & { rate: number }): Promise<LoadResult> {
  if (t.tool === "wrk") {
    const args: OpenLoopOptions = { url: o.url, codesFile: o.codesFile, rate: o.rate, durationS: o.durationS, connections: o.connections, hotShare: o.hotShare, label: o.label };
    const flags = Object.entries({ url: args.url, codes: args.codesFile, rate: args.rate, duration: args.durationS, connections: args.connections, "hot-share": args.hotShare, label: args.label }).flatMap(([k, v]) => [`--${k}`, String(v)]);
    return runJsonChild<LoadResult>(`open-loop ${o.label}`, [BUN, "bench/lib/open-loop.ts", ...flags]);
  }
  const env = { BASE_URL: o.url, CODES_FILE: o.codesFile, HOT_SHARE: String(o.hotShare), EXECUTOR: "arrival", RATE: String(Math.round(o.rate)), DURATION: `${o.durationS}s`, WARMUP: "1s", HIT_RATE_FLOOR: "0", P99_MS: "60000" };
  const r = k6Redirects(await runK6("redirects", env, t.workDir, o.label), o.label, o.durationS);
  return { ...r, targetRate: o.rate };
}

export interface CreateLoad {
  label: string;
  url: string;
  repeatsFile: string;
  repeatShare: number;
  durationS: number;
  connections: number;
  runId: string;
}

export async function createsMax(t: LoadTool, o: CreateLoad): Promise<LoadResult> {
  if (t.tool === "wrk") {
    return runWrk({ label: o.label, url: o.url, script: "creates", env: { REPEATS_FILE: o.repeatsFile, REPEAT_SHARE: String(o.repeatShare), RUN_ID: o.runId }, connections: o.connections, durationS: o.durationS });
  }
  const env = { BASE_URL: o.url, REPEATS_FILE: o.repeatsFile, REPEAT_SHARE: String(o.repeatShare), RUN_ID: o.runId, EXECUTOR: "vus", VUS: String(o.connections), DURATION: `${o.durationS}s`, P99_MS: "60000" };
  return k6Creates(await runK6("creates", env, t.workDir, o.label), o.label, o.durationS);
}
