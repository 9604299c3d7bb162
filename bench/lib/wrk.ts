import { join } from "node:path";
import type { LoadResult } from "./load-result";
import { lastJsonLine, ROOT, startChild } from "./proc";

export const WRK_DIR = join(ROOT, "bench/wrk");

interface WrkJson {
  requests: number;
  duration_us: number;
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
  latency_us: { p50: number; p95: number; p99: number; max: number; mean: number };
  counted?: boolean;
  counts: Record<string, number>;
  status: Record<string, number>;
  sources?: Record<string, number>;
  shards?: Record<string, number>;
}

export interface WrkRun {
  label: string;
  url: string;
  script: "redirects" | "creates";
  env: Record<string, string>;
  connections: number;
  threads?: number;
  durationS: number;
  /** The CPUs wrk may run on (`taskset -c`), to keep it off the core of the servers it loads. */
  cpus?: string;
}

/**
 * Runs wrk (closed loop: each connection sends its next request when the last one answered)
 * with one of the bench/wrk scripts and returns its figures. One wrk thread by default: on a
 * 2-core box a second thread takes CPU from the server it measures.
 *
 * @example await runWrk({ label: "ours", url, script: "redirects", env: { CODES_FILE }, connections: 64, durationS: 8 })
 */
export async function runWrk(run: WrkRun): Promise<LoadResult> {
  const threads = Math.min(run.threads ?? 1, run.connections);
  const cmd = [...(run.cpus === undefined ? [] : ["taskset", "-c", run.cpus]), "wrk", `-t${threads}`, `-c${run.connections}`, `-d${run.durationS}s`, "--timeout", "5s", "-s", join(WRK_DIR, `${run.script}.lua`), `${run.url}/`];
  const child = startChild(`wrk ${run.label}`, cmd, { env: { BENCH_WRK_DIR: WRK_DIR, ...run.env } });
  const code = await child.done;
  const out = lastJsonLine<WrkJson>(child.stdout());
  if (code !== 0 || out === null) throw new Error(`wrk ${run.label} exited ${code}:\n${child.stdout().slice(-2000)}\n${child.stderr().slice(-2000)}`);
  return fromWrk(run, out);
}

function fromWrk(run: WrkRun, w: WrkJson): LoadResult {
  const seconds = w.duration_us / 1e6;
  const socketErrors = w.errors.connect + w.errors.read + w.errors.write + w.errors.timeout;
  const notOk = run.script === "redirects" ? (w.counted === false ? w.errors.status : (w.counts.non3xx ?? 0)) : (w.counts.failed ?? 0);
  const ms = (us: number) => us / 1000;
  return {
    tool: "wrk",
    label: run.label,
    seconds,
    requests: w.requests,
    rps: seconds > 0 ? w.requests / seconds : 0,
    latencyMs: { p50: ms(w.latency_us.p50), p95: ms(w.latency_us.p95), p99: ms(w.latency_us.p99), max: ms(w.latency_us.max), mean: ms(w.latency_us.mean) },
    failed: notOk + socketErrors,
    socketErrors,
    counts: w.counts,
    status: w.status,
    sources: w.sources ?? {},
    shards: w.shards ?? {},
  };
}
