import { withCpu, type CpuUse } from "./cpu";

/** One load run, in the same shape whichever tool produced it (wrk, k6 or the open-loop generator). */
export interface LoadResult {
  tool: "wrk" | "k6" | "open-loop";
  label: string;
  seconds: number;
  requests: number;
  /** Completed requests per second. */
  rps: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number; mean: number };
  /** Requests that did not get the expected answer (non-3xx redirects, non-2xx creates), plus socket errors/timeouts. */
  failed: number;
  socketErrors: number;
  /** Tool-specific counters: s3xx/non3xx/hit/miss for redirects; created/repeat_ok/... for creates. */
  counts: Record<string, number>;
  /** Failed answers by HTTP status. */
  status: Record<string, number>;
  /** Redirects: "<shard>:<source>" → n (from x-shard and x-source). */
  sources: Record<string, number>;
  /** Creates: x-shard of 201 answers → n. */
  shards: Record<string, number>;
  /** Open-loop only: requests that could not be sent on schedule (k6 calls these dropped_iterations). */
  dropped?: number;
  targetRate?: number;
  /** CPU the server (and Redis) used during the run (bench/lib/cpu.ts). */
  cpu?: CpuUse;
}

export function hitRate(r: Pick<LoadResult, "counts">): number | null {
  const hit = r.counts.hit ?? 0;
  const miss = r.counts.miss ?? 0;
  return hit + miss === 0 ? null : hit / (hit + miss);
}

/** Sum of "<shard>:<source>" counts matching a predicate. */
export function sourceCount(r: Pick<LoadResult, "sources">, match: (shard: string, source: string) => boolean): number {
  let n = 0;
  for (const [key, v] of Object.entries(r.sources)) {
    const [shard = "?", source = "?"] = key.split(":");
    if (match(shard, source)) n += v;
  }
  return n;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** The `q` quantile of `values` (0.25: the lower quartile), interpolated between the two nearest. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const at = (s.length - 1) * q;
  const lo = Math.floor(at);
  return s[lo]! + (s[Math.ceil(at)]! - s[lo]!) * (at - lo);
}

/** The run whose rps is the median (for odd counts; the lower middle otherwise), so its latencies belong to one real run. */
export function medianRun(runs: readonly LoadResult[]): LoadResult {
  const s = [...runs].sort((a, b) => a.rps - b.rps);
  return s[(s.length - 1) >> 1]!;
}

export const round = (x: number, digits = 2): number => (Number.isFinite(x) ? Math.round(x * 10 ** digits) / 10 ** digits : x);

/** Runs a load and attaches the CPU the given server (and Redis) processes used meanwhile. */
export async function cpuRun(server: readonly number[], redis: readonly number[], fn: () => Promise<LoadResult>): Promise<LoadResult> {
  const { result, cpu } = await withCpu(server, redis, fn, (r) => r.requests);
  return { ...result, cpu };
}

/** The most cores processes outside this benchmark used during any of the runs (see CpuUse.foreign_cores). */
export function foreignMax(runs: ReadonlyArray<{ cpu?: { foreign_cores: number } }>): number | null {
  const v = runs.flatMap((r) => (r.cpu ? [r.cpu.foreign_cores] : []));
  return v.length === 0 ? null : round(Math.max(...v), 2);
}

/** One log fragment with a run's CPU figures (bench/lib/cpu.ts). */
export function cpuNote(r: Pick<LoadResult, "cpu">): string {
  const c = r.cpu;
  if (!c) return "no CPU figures";
  return `server CPU ${c.server_us_per_req.toFixed(1)} µs/req (${c.server_cores.toFixed(2)} cores); redis ${c.redis_cores.toFixed(2)}, postgres ${c.postgres_cores.toFixed(2)}, box busy ${c.box_busy_cores.toFixed(2)} cores; other processes ${c.foreign_cores.toFixed(2)} cores`;
}

/** Median of one CPU figure over runs. */
export function medianCpu(runs: readonly LoadResult[], key: "server_cores" | "postgres_cores" | "redis_cores" | "box_busy_cores" | "server_us_per_req"): number {
  return round(median(runs.map((r) => r.cpu?.[key] ?? Number.NaN)), 2);
}
