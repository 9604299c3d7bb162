import { join } from "node:path";
import { clusterDown, clusterEnvVars, clusterUpOnFreePorts, readState, type ClusterState, type Role } from "../../scripts/cluster/index";
import { freePort, startServer, type ServerProcess } from "../../harness/server-process";
import { onCleanup } from "./cleanup";
import { addClusterDir } from "./cpu";
import { startHaproxy } from "./haproxy";
import { BUN, ROOT, startChild, waitHttp } from "./proc";

export const SHARDS = 3;

export interface ShardUrls {
  redis: string;
  primary: string;
  replica: string;
}

/** Everything a scenario loads: our instances (maybe behind HAProxy) and the floor server(s), on one cluster. */
export interface Stack {
  clusterName: string;
  clusterDir: string;
  basePort: number;
  /** fsync on (a durable cluster) rather than the --fast one. */
  durable: boolean;
  shards: ShardUrls[];
  env: { DATABASE_NODES: string; REDIS_NODES: string };
  /** Entry point for load: HAProxy when in use, else the single instance. */
  oursUrl: string;
  /** Current instance processes (restartInstances replaces the entries in place). */
  instances: ServerProcess[];
  floorUrl: string;
  floorPorts: number[];
  /** PIDs for CPU accounting (bench/lib/cpu.ts); updated in place by restartInstances. */
  oursPids: number[];
  floorPids: number[];
  /** Live Redis server PIDs (they change when the fallback scenario restarts one). */
  redisPids(): number[];
  haproxy: boolean;
  workDir: string;
  /** Fresh state.json (node control rewrites it). */
  state(): ClusterState;
  /**
   * Stops every instance gracefully (SIGTERM: the app flushes its clicks before it exits) and
   * starts a fresh one on the same port with the same env, so later scenarios (and HAProxy) go on
   * as before. Resolves with the exit codes of the stopped processes.
   */
  restartInstances(): Promise<number[]>;
  /** Tears this stack down now (instances, floors, HAProxy, cluster) instead of at the runner's exit. */
  stop(): Promise<void>;
}

/**
 * The app's env for the benchmark: as shipped (rate limiting on, analytics on), with the
 * per-client budgets at their maximum, above the offered load (every request comes from one
 * address, 127.0.0.1, so a shipped budget would refuse most of it) and the anonymous daily cap
 * off for the same reason; quiet logs.
 */
export const INSTANCE_ENV = { RATE_LIMIT_REDIRECT_PER_MIN: "10000000", RATE_LIMIT_CREATE_PER_MIN: "1000000", ANONYMOUS_CREATE_PER_DAY: "0", LOG_LEVEL: "warn" } as const;

export interface StackOptions {
  instances: number;
  haproxy: boolean;
  workDir: string;
  log: (s: string) => void;
  /** A cluster with fsync on (PostgreSQL defaults) instead of --fast; default false. */
  durable?: boolean;
  /** Start the floor server(s); default true. */
  floor?: boolean;
  /** Cluster name suffix, for a second stack in one run (bench-<pid>-<suffix>). */
  suffix?: string;
}

/**
 * Boots a private cluster (name bench-<pid>, free base port; --fast unless `durable`), N app
 * instances (distinct INSTANCE_IDs), N floor servers and HAProxy when asked. All of it is
 * registered for teardown, and the cluster is wiped at the end (or at `stop()`).
 */
export async function startStack(opts: StackOptions): Promise<Stack> {
  const name = `bench-${process.pid}${opts.suffix ? `-${opts.suffix}` : ""}`;
  const durable = opts.durable ?? false;
  const t0 = performance.now();
  const undos: Array<() => Promise<void>> = [];
  undos.push(onCleanup(`cluster ${name}`, () => clusterDown({ name, wipe: true })));
  const basePort = await bootCluster(name, durable);
  const dir = join(ROOT, ".cluster", name);
  const state = readState(dir);
  addClusterDir(state.nodesDir ?? dir);
  const env = clusterEnvVars(state);
  const shards = shardUrls(state);
  opts.log(`cluster ${name}: ${SHARDS} shards from port ${basePort}${durable ? ", durable (fsync on)" : ", --fast (fsync off)"}, up in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const instanceEnv = (i: number) => ({ ...env, ...INSTANCE_ENV, INSTANCE_ID: String(i), ...(opts.haproxy ? { TRUSTED_PROXIES: "127.0.0.1" } : {}) });
  const instances: ServerProcess[] = [];
  const instanceUndos: Array<() => Promise<void>> = [];
  const launch = async (i: number, port?: number) => {
    const server = await startServer(instanceEnv(i), port === undefined ? {} : { port });
    instances[i] = server;
    instanceUndos[i] = onCleanup(`instance ${i}`, () => server.stop());
    return server;
  };
  await Promise.all(Array.from({ length: opts.instances }, (_, i) => launch(i)));
  const withFloor = opts.floor ?? true;
  const floors = withFloor ? await Promise.all(Array.from({ length: opts.instances }, () => startFloor(env.REDIS_NODES))) : [];
  for (const f of floors) undos.push(f.stop);
  const floorPorts = floors.map((f) => f.port);
  let oursUrl = instances[0]!.url;
  let floorUrl = floorPorts.length > 0 ? `http://127.0.0.1:${floorPorts[0]}` : "";
  if (opts.haproxy) {
    const edge = await startHaproxy(instances.map((s) => s.port), `ours ${name}`);
    undos.push(edge.stop);
    oursUrl = edge.url;
    if (withFloor) {
      const floorEdge = await startHaproxy(floorPorts, `floor ${name}`);
      undos.push(floorEdge.stop);
      floorUrl = floorEdge.url;
    }
  }
  opts.log(`${opts.instances} instance(s) ${instances.map((s) => s.port).join(",")}${opts.haproxy ? ` behind HAProxy ${oursUrl}` : ""}${withFloor ? `; floor ${floorUrl}` : ""}; ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const oursPids = instances.map((s) => s.proc.pid);
  return {
    clusterName: name,
    clusterDir: dir,
    basePort,
    durable,
    shards,
    env,
    oursUrl,
    instances,
    floorUrl,
    floorPorts,
    oursPids,
    floorPids: floors.map((f) => f.pid),
    redisPids: () => readState(dir).nodes.flatMap((n) => (n.role === "redis" && n.pid !== null ? [n.pid] : [])),
    haproxy: opts.haproxy,
    workDir: opts.workDir,
    state: () => readState(dir),
    async restartInstances() {
      const codes = await Promise.all(instances.map(async (server, i) => {
        const code = await server.stop("SIGTERM");
        await instanceUndos[i]?.(); // already exited: only unregisters
        return code;
      }));
      await Promise.all(instances.map((server, i) => launch(i, server.port)));
      instances.forEach((s, i) => (oursPids[i] = s.proc.pid));
      // Behind HAProxy the restarted servers must be seen UP again before load resumes.
      if (opts.haproxy) await waitHttp(`${oursUrl}/health/ready`, 20_000).then(() => Bun.sleep(1000));
      return codes;
    },
    async stop() {
      for (const undo of [...instanceUndos].reverse()) await undo?.();
      for (const undo of [...undos].reverse()) await undo();
    },
  };
}

export async function startFloor(redisNodes: string): Promise<{ port: number; pid: number; stop: () => Promise<void> }> {
  const port = await freePort();
  const child = startChild(`floor server :${port}`, [BUN, "bench/baselines/floor-server.ts"], { env: { PORT: String(port), REDIS_NODES: redisNodes } });
  await waitHttp(`http://127.0.0.1:${port}/health/ready`, 15_000).catch((error: Error) => {
    throw new Error(`floor server: ${error.message}\n${child.stderr()}`);
  });
  return { port, pid: child.proc.pid, stop: async () => void (await child.stop()) };
}

/**
 * A throwaway cluster on the first free range of base ports 40000..59900 (fsync on when
 * `durable`). Plain pairs unless BENCH_HA=true: the HA engine's own load on a 2-core box
 * (README, Known limits) would be most of what such a run measured.
 */
export function bootCluster(name: string, durable = false): Promise<number> {
  return clusterUpOnFreePorts({ name, shards: SHARDS, firstBase: 40_000, slots: 200, fast: !durable, ha: process.env.BENCH_HA === "true" });
}

function shardUrls(state: ClusterState): ShardUrls[] {
  const url = (shard: number, role: Role) => state.nodes.find((n) => n.shard === shard && n.role === role)!.url;
  return Array.from({ length: state.shards }, (_, i) => ({ redis: url(i, "redis"), primary: url(i, "primary"), replica: url(i, "replica") }));
}
