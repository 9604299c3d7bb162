import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { ROOT } from "./proc";

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
  /** Cores this benchmark's PostgreSQL servers used (all shards, primaries and replicas). */
  postgres_cores: number;
  /** Cores Redis used. */
  redis_cores: number;
  /** Busy cores of the whole machine (everything: server, load tool, Redis, PostgreSQL, others). */
  box_busy_cores: number;
  /**
   * Cores used meanwhile by processes that are not this benchmark's (working directory outside
   * this checkout: another checkout's tests, servers or clusters on the same shared box). Near 0
   * means the run had the machine to itself; processes that exited during the run are missed.
   */
  foreign_cores: number;
  /** How long the run waited for the box to be quiet first (quiet gate; 0 when off). */
  quiet_wait_ms: number;
}

/** Runs `fn` and measures the CPU `server` and `redis` pids used meanwhile; `requests` reads the count from the result. */
export async function withCpu<T>(server: readonly number[], redis: readonly number[], fn: () => Promise<T>, requests: (r: T) => number): Promise<{ result: T; cpu: CpuUse }> {
  const sum = (pids: readonly number[]) => pids.reduce((n, p) => n + cpuMs(p), 0);
  let s0 = 0;
  let r0 = 0;
  let t0 = 0;
  const { result, box } = await onQuietBox(() => {
    s0 = sum(server);
    r0 = sum(redis);
    t0 = performance.now();
    return fn();
  });
  const wall = performance.now() - t0;
  const s = sum(server) - s0;
  const r = sum(redis) - r0;
  const n = Math.max(1, requests(result));
  return { result, cpu: { server_ms: s, redis_ms: r, wall_ms: wall, server_us_per_req: (1000 * s) / n, redis_us_per_req: (1000 * r) / n, server_cores: s / wall, redis_cores: r / wall, ...box } };
}

export interface BoxUse {
  foreign_cores: number;
  postgres_cores: number;
  box_busy_cores: number;
  quiet_wait_ms: number;
}

/** Runs `fn` once the box is quiet (when the gate is on) and reports the cores the box, our PostgreSQL servers and foreign processes used meanwhile. */
export async function onQuietBox<T>(fn: () => Promise<T>): Promise<{ result: T; box: BoxUse }> {
  const quietWait = await waitQuiet();
  const f0 = foreignSnapshot();
  const pg0 = postgresSnapshot();
  const b0 = boxBusyMs();
  const t0 = performance.now();
  const result = await fn();
  const wall = performance.now() - t0;
  const box = { foreign_cores: foreignDeltaMs(f0, foreignSnapshot()) / wall, postgres_cores: foreignDeltaMs(pg0, postgresSnapshot()) / wall, box_busy_cores: (boxBusyMs() - b0) / wall, quiet_wait_ms: Math.round(quietWait) };
  return { result, box };
}

const ownDirs: string[] = [ROOT.replace(/\/$/, "")];
const clusterDirs: string[] = [];

/** Processes working in `dir` (a cluster's nodes dir, maybe outside the checkout) are this benchmark's: its Redis and PostgreSQL servers. */
export function addClusterDir(dir: string): void {
  ownDirs.push(dir.replace(/\/$/, ""));
  clusterDirs.push(dir.replace(/\/$/, ""));
}

/**
 * CPU ms per process (key: pid and start time) of every process whose working directory is
 * outside this checkout and our clusters' dirs; kernel threads, daemons in "/" and processes we
 * may not inspect are skipped. Compare two snapshots with foreignDeltaMs.
 */
export function foreignSnapshot(): Map<string, number> {
  return cwdSnapshot((cwd) => cwd !== "/" && !ownDirs.some((d) => cwd.startsWith(d)));
}

/** The same for this benchmark's PostgreSQL servers (postmasters and backends work in their data dirs). */
export function postgresSnapshot(): Map<string, number> {
  return cwdSnapshot((cwd) => clusterDirs.some((d) => cwd.startsWith(d)) && cwd.endsWith("/data"));
}

function cwdSnapshot(include: (cwd: string) => boolean): Map<string, number> {
  const snap = new Map<string, number>();
  for (const name of readdirSync("/proc")) {
    if (name.charCodeAt(0) < 48 || name.charCodeAt(0) > 57) continue;
    let stat: string;
    try {
      if (!include(readlinkSync(`/proc/${name}/cwd`))) continue;
      stat = readFileSync(`/proc/${name}/stat`, "utf8");
    } catch {
      continue;
    }
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    snap.set(`${name}:${f[19]}`, (Number(f[11]) + Number(f[12])) * TICK_MS);
  }
  return snap;
}

/** Busy CPU ms of the whole machine (/proc/stat: all but idle and iowait). */
export function boxBusyMs(): number {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return (total - f[3]! - f[4]!) * TICK_MS;
}

/** CPU ms the processes of two snapshots used in between (one that exited in between counts 0, one that started counts whole). */
export function foreignDeltaMs(before: ReadonlyMap<string, number>, after: ReadonlyMap<string, number>): number {
  let ms = 0;
  for (const [key, v] of after) ms += v - (before.get(key) ?? 0);
  return Math.max(0, ms);
}

let gate = { enabled: false, maxCores: 0.15, maxWaitMs: 60_000, windowMs: 500 };
let log: (line: string) => void = () => {};

/** Full runs: before each measured run, wait (bounded) until other checkouts' processes are idle. */
export function setQuietGate(options: Partial<typeof gate> & { log?: (line: string) => void }): void {
  gate = { ...gate, ...options };
  if (options.log) log = options.log;
}

/** Waits until foreign processes used < maxCores over windowMs, at most maxWaitMs; returns the ms waited. */
export async function waitQuiet(): Promise<number> {
  if (!gate.enabled) return 0;
  const t0 = performance.now();
  let warned = false;
  for (;;) {
    const f0 = foreignSnapshot();
    const w0 = performance.now();
    await Bun.sleep(gate.windowMs);
    const cores = foreignDeltaMs(f0, foreignSnapshot()) / (performance.now() - w0);
    const waited = performance.now() - t0;
    if (cores < gate.maxCores) return waited - gate.windowMs;
    if (waited >= gate.maxWaitMs) {
      log(`  box not quiet after ${(waited / 1000).toFixed(0)} s (other processes at ${cores.toFixed(2)} cores): measuring anyway`);
      return waited;
    }
    if (!warned) {
      log(`  waiting for the box to be quiet (other processes at ${cores.toFixed(2)} cores)...`);
      warned = true;
    }
  }
}
