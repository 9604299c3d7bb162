import { readFileSync } from "node:fs";

/**
 * CPU time of processes from /proc/<pid>/stat (utime + stime, all threads), to turn a run into
 * "CPU per request": on a shared 2-core box throughput moves with whatever else runs, while
 * the CPU a server spends per request is much steadier, so both are reported.
 */
const TICK_MS = 10; // CLK_TCK is 100 on Linux x86-64

export function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) * TICK_MS;
  } catch {
    return 0;
  }
}

export interface CpuUse {
  /** CPU ms of the measured server process(es) during the run. */
  server_ms: number;
  /** CPU ms of the Redis servers during the run. */
  redis_ms: number;
  wall_ms: number;
  /** server CPU per completed request, µs. */
  server_us_per_req: number;
  redis_us_per_req: number;
  /** Cores the server kept busy on average. */
  server_cores: number;
}

/** Runs `fn` and measures the CPU `server` and `redis` pids used meanwhile; `requests` reads the count from the result. */
export async function withCpu<T>(server: readonly number[], redis: readonly number[], fn: () => Promise<T>, requests: (r: T) => number): Promise<{ result: T; cpu: CpuUse }> {
  const sum = (pids: readonly number[]) => pids.reduce((n, p) => n + cpuMs(p), 0);
  const s0 = sum(server);
  const r0 = sum(redis);
  const t0 = performance.now();
  const result = await fn();
  const wall = performance.now() - t0;
  const s = sum(server) - s0;
  const r = sum(redis) - r0;
  const n = Math.max(1, requests(result));
  return { result, cpu: { server_ms: s, redis_ms: r, wall_ms: wall, server_us_per_req: (1000 * s) / n, redis_us_per_req: (1000 * r) / n, server_cores: s / wall } };
}
