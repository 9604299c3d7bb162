import { join } from "node:path";
import { clusterDown, clusterEnvVars, clusterUpOnFreePorts, readState, type ClusterState, type Role } from "../../scripts/cluster/index";
import { freePort, startServer, type ServerProcess } from "../../test/support/server-process";
import { onCleanup } from "./cleanup";
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
  shards: ShardUrls[];
  env: { DATABASE_NODES: string; REDIS_NODES: string };
  /** Entry point for load: HAProxy when in use, else the single instance. */
  oursUrl: string;
  instances: ServerProcess[];
  floorUrl: string;
  floorPorts: number[];
  /** PIDs for CPU accounting (bench/lib/cpu.ts). */
  oursPids: number[];
  floorPids: number[];
  /** Live Redis server PIDs (they change when the fallback scenario restarts one). */
  redisPids(): number[];
  haproxy: boolean;
  workDir: string;
  /** Fresh state.json (node control rewrites it). */
  state(): ClusterState;
}

/** The app's env for the benchmark: rate limiting off (it would cap the load), quiet logs. */
export const INSTANCE_ENV = { RATE_LIMIT_ENABLED: "false", LOG_LEVEL: "warn" } as const;

/**
 * Boots a private --fast cluster (name bench-<pid>, free base port), N app instances
 * (distinct INSTANCE_IDs), N floor servers and HAProxy when asked. All of it is registered for
 * teardown, and the cluster is wiped at the end.
 */
export async function startStack(opts: { instances: number; haproxy: boolean; workDir: string; log: (s: string) => void }): Promise<Stack> {
  const name = `bench-${process.pid}`;
  const t0 = performance.now();
  onCleanup(`cluster ${name}`, () => clusterDown({ name, wipe: true }));
  const basePort = await bootCluster(name);
  const dir = join(ROOT, ".cluster", name);
  const state = readState(dir);
  const env = clusterEnvVars(state);
  const shards = shardUrls(state);
  opts.log(`cluster ${name}: ${SHARDS} shards from port ${basePort}, up in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const instances = await Promise.all(
    Array.from({ length: opts.instances }, async (_, i) => {
      const server = await startServer({ ...env, ...INSTANCE_ENV, INSTANCE_ID: String(i), ...(opts.haproxy ? { TRUSTED_PROXIES: "127.0.0.1" } : {}) });
      onCleanup(`instance ${i}`, () => server.stop());
      return server;
    }),
  );
  const floors = await Promise.all(Array.from({ length: opts.instances }, () => startFloor(env.REDIS_NODES)));
  const floorPorts = floors.map((f) => f.port);
  let oursUrl = instances[0]!.url;
  let floorUrl = `http://127.0.0.1:${floorPorts[0]}`;
  if (opts.haproxy) {
    oursUrl = (await startHaproxy(instances.map((s) => s.port), "ours")).url;
    floorUrl = (await startHaproxy(floorPorts, "floor")).url;
  }
  opts.log(`${opts.instances} instance(s) ${instances.map((s) => s.port).join(",")}${opts.haproxy ? ` behind HAProxy ${oursUrl}` : ""}; floor ${floorUrl}; ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return {
    clusterName: name,
    clusterDir: dir,
    basePort,
    shards,
    env,
    oursUrl,
    instances,
    floorUrl,
    floorPorts,
    oursPids: instances.map((s) => s.proc.pid),
    floorPids: floors.map((f) => f.pid),
    redisPids: () => readState(dir).nodes.flatMap((n) => (n.role === "redis" && n.pid !== null ? [n.pid] : [])),
    haproxy: opts.haproxy,
    workDir: opts.workDir,
    state: () => readState(dir),
  };
}

async function startFloor(redisNodes: string): Promise<{ port: number; pid: number }> {
  const port = await freePort();
  const child = startChild(`floor server :${port}`, [BUN, "bench/baselines/floor-server.ts"], { env: { PORT: String(port), REDIS_NODES: redisNodes } });
  await waitHttp(`http://127.0.0.1:${port}/health/ready`, 15_000).catch((error: Error) => {
    throw new Error(`floor server: ${error.message}\n${child.stderr()}`);
  });
  return { port, pid: child.proc.pid };
}

/** A throwaway cluster on the first free range of base ports 40000..59900. */
export function bootCluster(name: string): Promise<number> {
  return clusterUpOnFreePorts({ name, shards: SHARDS, firstBase: 40_000, slots: 200 });
}

function shardUrls(state: ClusterState): ShardUrls[] {
  const url = (shard: number, role: Role) => state.nodes.find((n) => n.shard === shard && n.role === role)!.url;
  return Array.from({ length: state.shards }, (_, i) => ({ redis: url(i, "redis"), primary: url(i, "primary"), replica: url(i, "replica") }));
}
