import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn, type Subprocess } from "bun";
import { EDGE_LIMITS_OFF, edgeLimitsEnv, localHaproxyConfig, type EdgeLimits, type EdgePeers, type HealthCheckTiming } from "../scripts/deploy/haproxy-config";
import { checkHaproxyConfig, haproxyBinary, serverStates } from "../scripts/deploy/haproxy-runtime";
import { eventually, freePort, startServer, type ServerProcess } from "./server-process";
import { clusterNodesEnv } from "./system";

/** Fast checks for tests: a dead or draining instance leaves within ~inter + fastinter (≈ 450 ms). */
export const TEST_CHECK: HealthCheckTiming = { interMs: 300, fastinterMs: 150, downinterMs: 300, fall: 2, rise: 1 };

export interface HaproxyProcess {
  /** http://127.0.0.1:<port>, the load-balanced entry point. */
  url: string;
  port: number;
  statsPort: number;
  proc: Subprocess;
  /** HAProxy's log (notice level: server UP/DOWN transitions, alerts). */
  output(): string;
  /** HAProxy's server name for the instance on `port`. */
  serverName(instancePort: number): string;
  /** Status of every backend server, keyed by instance port. */
  states(): Promise<Map<number, string>>;
  /** Waits until the instance on `port` has exactly `status` ("UP" or "DOWN"). */
  waitStatus(instancePort: number, status: "UP" | "DOWN", timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A real HAProxy (the same template as haproxy.cfg) in front of app instances on 127.0.0.1,
 * in the foreground on free ports, config in a temp dir. Resolves once every instance is UP
 * unless `waitUp: false`.
 *
 * @example
 *   const lb = await startHaproxy([a.port, b.port]);
 *   await fetch(`${lb.url}/health/live`);
 *   await lb.stop();
 */
export async function startHaproxy(
  instancePorts: readonly number[],
  options: { check?: HealthCheckTiming; waitUp?: boolean; edgeLimits?: EdgeLimits; peers?: EdgePeers } = {},
): Promise<HaproxyProcess> {
  const port = await freePort();
  const statsPort = await freePort();
  const peers = options.peers ?? { local: "lb", all: [{ name: "lb", address: `127.0.0.1:${await freePort()}` }] };
  const dir = mkdtempSync(join(tmpdir(), "shorten-haproxy-"));
  const cfg = join(dir, "haproxy.cfg");
  writeFileSync(cfg, localHaproxyConfig({ port, statsPort, instancePorts, check: options.check ?? TEST_CHECK, peers }));
  checkHaproxyConfig(cfg);

  let out = "";
  // -db: foreground, no daemon; the test owns the process. Every client of a test is on
  // loopback, so the edge limits are off unless the test sets them.
  const env = { ...process.env, ...edgeLimitsEnv(options.edgeLimits ?? EDGE_LIMITS_OFF) };
  const proc = spawn({ cmd: [haproxyBinary(), "-db", "-f", cfg], env, stdout: "pipe", stderr: "pipe" });
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) out = (out + decoder.decode(chunk)).slice(-64_000);
  };
  void collect(proc.stdout as ReadableStream<Uint8Array>);
  void collect(proc.stderr as ReadableStream<Uint8Array>);

  const serverName = (p: number) => `app-${p}`;
  const lb: HaproxyProcess = {
    url: `http://127.0.0.1:${port}`,
    port,
    statsPort,
    proc,
    output: () => out,
    serverName,
    async states() {
      const byName = await serverStates(statsPort);
      return new Map(instancePorts.map((p) => [p, byName.get(serverName(p)) ?? "?"]));
    },
    async waitStatus(instancePort, status, timeoutMs = 15_000) {
      await eventually(async () => ((await lb.states()).get(instancePort) === status ? true : undefined), `haproxy to mark :${instancePort} ${status}`, timeoutMs);
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
      await proc.exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await eventually(async () => {
      if (proc.exitCode !== null) throw new Error(`haproxy exited with ${proc.exitCode}: ${out}`);
      return (await serverStates(statsPort, 500)).size === instancePorts.length ? true : undefined;
    }, "haproxy stats page", 10_000);
    if (options.waitUp ?? true) for (const p of instancePorts) await lb.waitStatus(p, "UP");
  } catch (error) {
    await lb.stop();
    throw error;
  }
  return lb;
}

// Storage budgets well above the defaults: these tests are about HAProxy, and a starved 2-core CI
// machine must not turn a slow Redis/PostgreSQL call into a 503 that looks like a proxy failure.
export const FLEET_ENV = { TRUSTED_PROXIES: "127.0.0.1", ID_BLOCK_SIZE: "512", ID_LOW_WATER: "256", LOG_LEVEL: "warn", REDIS_TIMEOUT_MS: "1000", DB_TIMEOUT_MS: "5000" };

export interface Fleet {
  /** The live server process of each instance id, in the order given; `restart` replaces one. */
  readonly instances: ServerProcess[];
  readonly lb: HaproxyProcess;
  /** Starts instance `index` again on its port, with its env (after a test stopped or killed it). */
  restart(index: number): Promise<ServerProcess>;
  stop(): Promise<void>;
}

/**
 * One server process per instance id on the test cluster (FLEET_ENV + INSTANCE_ID + `envFor`)
 * and the real HAProxy in front of them, every instance UP.
 *
 * @example
 *   const fleet = await startFleet([1, 2, 3], () => ({ RATE_LIMIT_ENABLED: "false" }));
 *   await fetch(`${fleet.lb.url}/health/ready`);
 *   await fleet.stop();
 */
export async function startFleet(ids: readonly number[], envFor: (id: number) => Record<string, string>): Promise<Fleet> {
  clusterNodesEnv(); // fails with "run the suite with npm test" when there is no cluster
  const env = (id: number) => ({ ...FLEET_ENV, INSTANCE_ID: String(id), ...envFor(id) });
  const instances = await Promise.all(ids.map((id) => startServer(env(id))));
  const stopInstances = () => Promise.all(instances.map((s) => s.stop()));
  const lb = await startHaproxy(instances.map((s) => s.port)).catch(async (error: unknown) => {
    await stopInstances();
    throw error;
  });
  return {
    instances,
    lb,
    async restart(index) {
      const fresh = await startServer(env(ids[index]!), { port: instances[index]!.port });
      instances[index] = fresh;
      return fresh;
    },
    async stop() {
      await lb.stop();
      await stopInstances();
    },
  };
}

export interface LoadResult {
  sent: number;
  ok: number;
  failed: number;
  /** The first few failures: status code or error message, with the time since the start. */
  failures: string[];
  /** x-instance header → responses. */
  byInstance: Map<string, number>;
  /** Per response: ms since the start and the instance that answered ("" on failure). */
  timeline: Array<{ t: number; instance: string }>;
}

export interface Load {
  /** Counts so far. */
  snapshot(): LoadResult;
  /** Stops sending, waits for requests in flight, returns the totals. */
  stop(): Promise<LoadResult>;
}

/**
 * Closed-loop load: `concurrency` workers send GET `path` one after another until stop(), the
 * duration or the request cap is reached. A response counts as ok when its status is `okStatus`;
 * anything else, including a network error or a 10 s timeout, is a failure. `pauseMs` between a
 * worker's requests paces the load (concurrency / pauseMs is roughly the request rate ceiling).
 *
 * @example const load = startLoad(`${lb.url}/${code}`, { concurrency: 8, maxRequests: 3000, durationMs: 20_000 });
 */
export function startLoad(url: string, options: { concurrency: number; maxRequests: number; durationMs: number; okStatus?: number; pauseMs?: number }): Load {
  const okStatus = options.okStatus ?? 302;
  const t0 = performance.now();
  const result: LoadResult = { sent: 0, ok: 0, failed: 0, failures: [], byInstance: new Map(), timeline: [] };
  let stopping = false;
  const done = () => stopping || result.sent >= options.maxRequests || performance.now() - t0 > options.durationMs;
  const worker = async () => {
    while (!done()) {
      result.sent++;
      let instance = "";
      let failure: string | null = null;
      try {
        const res = await fetch(url, { redirect: "manual", signal: AbortSignal.timeout(10_000) });
        await res.arrayBuffer();
        if (res.status === okStatus) instance = res.headers.get("x-instance") ?? "?";
        else failure = `HTTP ${res.status}`;
      } catch (error) {
        failure = (error as Error).message;
      }
      const t = Math.round(performance.now() - t0);
      result.timeline.push({ t, instance });
      if (failure === null) {
        result.ok++;
        result.byInstance.set(instance, (result.byInstance.get(instance) ?? 0) + 1);
      } else {
        result.failed++;
        if (result.failures.length < 20) result.failures.push(`${t} ms: ${failure}`);
      }
      if (options.pauseMs) await Bun.sleep(options.pauseMs);
    }
  };
  const workers = Array.from({ length: options.concurrency }, worker);
  return {
    snapshot: () => result,
    async stop() {
      stopping = true;
      await Promise.all(workers);
      return result;
    },
  };
}
