#!/usr/bin/env bun
/**
 * Local multi-instance mode: the local cluster, N app instances and a real HAProxy in front,
 * configured from the same template as the committed haproxy.cfg (scripts/deploy/haproxy-config.ts).
 *
 *   bun scripts/multi.ts up     [--instances N] [--port P] [--stats-port S] [--name NAME] [--base-port B]
 *   bun scripts/multi.ts status [--name NAME]
 *   bun scripts/multi.ts restart [--name NAME]    rolling: each instance in turn, with the cluster's current node lists
 *   bun scripts/multi.ts down   [--name NAME] [--cluster]
 *
 * HAProxy listens on 127.0.0.1:P (default 8080), instances on P+1..P+N with INSTANCE_ID 1..N and
 * TRUSTED_PROXIES=127.0.0.1, stats on 127.0.0.1:S/stats (default 8404). Processes run detached;
 * their PIDs, ports and logs are recorded in .cluster/<name>/multi/state.json, which `down` reads.
 * `down` leaves the cluster running (like `npm start`) unless --cluster is given.
 */
import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { clusterDir, clusterDown, clusterEnvVars, clusterUp, DEFAULTS, portFree, readState, REPO_ROOT, type ClusterState } from "./cluster/index";
import { cmdline, isAlive, logTail, waitForExit, waitUntil } from "./cluster/proc";
import { writeJsonAtomic } from "./cluster/state";
import { EDGE_LIMITS_OFF, edgeLimitsEnv, localHaproxyConfig, type HealthCheckTiming } from "./deploy/haproxy-config";
import { checkHaproxyConfig, haproxyBinary, haproxyHealthy, serverStates } from "./deploy/haproxy-runtime";
import { parseCommand, runCli } from "./cluster/run-cli";

const USAGE = "usage: bun scripts/multi.ts up|down|status|restart [--instances N] [--port P] [--stats-port S] [--name NAME] [--base-port B] [--cluster]";

/** Faster than compose's checks (this is one machine); drain below must exceed inter + (fall-1) * fastinter. */
const LOCAL_CHECK: HealthCheckTiming = { interMs: 500, fastinterMs: 250, downinterMs: 500, fall: 2, rise: 2 };
const DRAIN_MS = 1500;
const GRACE_MS = 10_000;

interface Proc {
  pid: number;
  port: number;
  log: string;
  /** A word of its command line, checked before signalling: a recycled PID is left alone. */
  marker: string;
}
interface MultiState {
  name: string;
  haproxy: (Proc & { statsPort: number; cfg: string }) | null;
  instances: Array<Proc & { instanceId: number }>;
  startedAt: string;
}

const multiDir = (name: string) => join(clusterDir(REPO_ROOT, name), "multi");
const stateFile = (name: string) => join(multiDir(name), "state.json");

function readMulti(name: string): MultiState | null {
  return existsSync(stateFile(name)) ? (JSON.parse(readFileSync(stateFile(name), "utf8")) as MultiState) : null;
}

function writeMulti(state: MultiState): void {
  writeJsonAtomic(stateFile(state.name), state);
}

const ours = (p: Proc) => isAlive(p.pid) && cmdline(p.pid).includes(p.marker);

/** Starts a process detached from this script, output appended to `log`. */
function spawnDetached(cmd: string, args: string[], log: string, env: NodeJS.ProcessEnv): number {
  const fd = openSync(log, "a");
  try {
    const child = spawn(cmd, args, { cwd: REPO_ROOT, env, detached: true, stdio: ["ignore", fd, fd] });
    if (child.pid === undefined) throw new Error(`could not start ${cmd}`);
    child.unref();
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>, alive: () => boolean, log: string): Promise<void> {
  const ready = await waitUntil(
    async () => {
      if (!alive()) throw new Error(`${what}: process exited; last log lines:\n${logTail(log, 15)}`);
      return check().catch(() => false);
    },
    timeoutMs,
    200,
  );
  if (!ready) throw new Error(`${what}: not ready after ${timeoutMs} ms; last log lines:\n${logTail(log, 15)}`);
}

async function ready(port: number): Promise<boolean> {
  const res = await fetch(`http://127.0.0.1:${port}/health/ready`, { signal: AbortSignal.timeout(1000) });
  await res.arrayBuffer();
  return res.status === 200;
}

async function up(name: string, instances: number, port: number, statsPort: number, basePort: number | undefined): Promise<void> {
  const existing = readMulti(name);
  if (existing && [existing.haproxy, ...existing.instances].some((p) => p && ours(p))) {
    throw new Error(`multi "${name}" is already running; run \`bun scripts/multi.ts down --name ${name}\` first`);
  }
  const peerPort = statsPort + 1;
  const ports = [port, statsPort, peerPort, ...Array.from({ length: instances }, (_, i) => port + 1 + i)];
  if (new Set(ports).size !== ports.length) throw new Error(`--stats-port ${statsPort} (and ${peerPort}, HAProxy's peers port) collides with the HAProxy/instance ports ${port}..${port + instances}`);
  const busy = (await Promise.all(ports.map(async (p) => ((await portFree(p)) ? null : p)))).filter((p) => p !== null);
  if (busy.length > 0) throw new Error(`port(s) in use: ${busy.join(", ")} (choose another --port / --stats-port)`);

  const cluster = await clusterUp({ name, basePort, log: (line) => console.log(`cluster: ${line}`) });
  const dir = multiDir(name);
  mkdirSync(dir, { recursive: true });
  const state: MultiState = { name, haproxy: null, instances: [], startedAt: new Date().toISOString() };
  writeMulti(state);

  try {
    for (let i = 0; i < instances; i++) {
      const instanceId = i + 1;
      const instancePort = port + 1 + i;
      const log = join(dir, `instance-${instanceId}.log`);
      const pid = spawnInstance(cluster, instanceId, instancePort, port, log);
      state.instances.push({ pid, port: instancePort, log, marker: "src/main.ts", instanceId });
      writeMulti(state); // recorded at once, so `down` cleans up a failed `up`
      console.log(`instance ${instanceId}: pid ${pid} on 127.0.0.1:${instancePort}, log ${log}`);
    }
    await Promise.all(state.instances.map((p) => waitFor(`instance ${p.instanceId}`, 60_000, () => ready(p.port), () => isAlive(p.pid), p.log)));

    const cfg = join(dir, "haproxy.cfg");
    const peers = { local: "multi", all: [{ name: "multi", address: `127.0.0.1:${peerPort}` }] };
    writeFileSync(cfg, localHaproxyConfig({ port, statsPort, instancePorts: state.instances.map((p) => p.port), check: LOCAL_CHECK, peers }));
    checkHaproxyConfig(cfg);
    const log = join(dir, "haproxy.log");
    // Master-worker in the foreground of its own detached session: logs go to haproxy.log. Every
    // local client is 127.0.0.1, one address: the edge limits are off unless the shell sets them.
    const pid = spawnDetached(haproxyBinary(), ["-W", "-db", "-f", cfg], log, { ...edgeLimitsEnv(EDGE_LIMITS_OFF), ...process.env });
    state.haproxy = { pid, port, log, marker: "haproxy", statsPort, cfg };
    writeMulti(state);
    await waitFor("haproxy", 15_000, async () => {
      const states = await serverStates(statsPort);
      return (await haproxyHealthy(statsPort)) && [...states.values()].every((s) => s === "UP");
    }, () => isAlive(pid), log);
  } catch (error) {
    console.error(`multi up failed: ${(error as Error).message}\nstopping what was started...`);
    await down(name, false);
    throw error;
  }
  console.log(`\nShorten behind HAProxy: http://127.0.0.1:${port}  (dashboard /dashboard/)`);
  console.log(`HAProxy stats:          http://127.0.0.1:${statsPort}/stats`);
  console.log(`instances:              ${state.instances.map((p) => `#${p.instanceId} :${p.port}`).join(", ")}`);
  console.log(`stop with:              bun scripts/multi.ts down${name === DEFAULTS.name ? "" : ` --name ${name}`}`);
}

function spawnInstance(cluster: ClusterState, instanceId: number, port: number, lbPort: number, log: string): number {
  const env = {
    ...process.env,
    ...clusterEnvVars(cluster),
    HOST: "127.0.0.1",
    PORT: String(port),
    INSTANCE_ID: String(instanceId),
    TRUSTED_PROXIES: "127.0.0.1",
    PUBLIC_BASE_URL: `http://127.0.0.1:${lbPort}`,
    SHUTDOWN_DRAIN_MS: process.env.SHUTDOWN_DRAIN_MS ?? String(DRAIN_MS),
    SHUTDOWN_GRACE_MS: process.env.SHUTDOWN_GRACE_MS ?? String(GRACE_MS),
    // A local fleet, like `npm start`: the dashboard opens without a key unless the env closes it.
    OBSERVABILITY_PUBLIC: process.env.OBSERVABILITY_PUBLIC ?? "true",
  };
  return spawnDetached(process.execPath, ["src/main.ts"], log, env);
}

/**
 * Each instance in turn: SIGTERM (it drains while HAProxy routes around it), then started again
 * on its port with the cluster's node lists as they are now (after `cluster add-shard`, say),
 * and the next one only once HAProxy has it UP again.
 */
async function restart(name: string): Promise<void> {
  const state = readMulti(name);
  if (!state?.haproxy || !ours(state.haproxy)) throw new Error(`multi "${name}" is not running; start it with \`bun scripts/multi.ts up\``);
  const cluster = readState(clusterDir(REPO_ROOT, name));
  const { haproxy } = state;
  for (const p of state.instances) {
    await stopProc(p, `instance ${p.instanceId}`, "SIGTERM", DRAIN_MS + GRACE_MS + 2000);
    p.pid = spawnInstance(cluster, p.instanceId, p.port, haproxy.port, p.log);
    writeMulti(state);
    await waitFor(`instance ${p.instanceId}`, 60_000, async () => (await ready(p.port)) && (await serverStates(haproxy.statsPort)).get(`app-${p.port}`) === "UP", () => isAlive(p.pid), p.log);
    console.log(`instance ${p.instanceId}: restarted (pid ${p.pid}) with ${cluster.shards} shard(s) configured, UP in HAProxy`);
  }
}

async function stopProc(p: Proc, label: string, signal: NodeJS.Signals, timeoutMs: number): Promise<void> {
  if (!ours(p)) return;
  process.kill(p.pid, signal);
  if (!(await waitForExit(p.pid, timeoutMs))) {
    console.error(`${label}: still running after ${timeoutMs} ms; SIGKILL`);
    process.kill(p.pid, "SIGKILL");
  }
  console.log(`${label} (pid ${p.pid}) stopped`);
}

async function down(name: string, withCluster: boolean): Promise<void> {
  const state = readMulti(name);
  if (!state) {
    console.log(`multi "${name}": nothing recorded`);
  } else {
    // HAProxy first, so no new request reaches instances that are stopping.
    if (state.haproxy) await stopProc(state.haproxy, "haproxy", "SIGTERM", 5000);
    await Promise.all(state.instances.map((p) => stopProc(p, `instance ${p.instanceId}`, "SIGTERM", DRAIN_MS + GRACE_MS + 2000)));
    rmSync(stateFile(name), { force: true });
  }
  if (withCluster) {
    const { stopped } = await clusterDown({ name, log: (line) => console.log(`cluster: ${line}`) });
    console.log(`cluster ${name}: ${stopped} node(s) stopped`);
  } else {
    console.log(`the cluster keeps running; \`bun scripts/cluster.ts down${name === DEFAULTS.name ? "" : ` --name ${name}`}\` stops it`);
  }
}

async function status(name: string): Promise<number> {
  const state = readMulti(name);
  if (!state) {
    console.log(`multi "${name}": not running`);
    return 1;
  }
  const states = state.haproxy && ours(state.haproxy) ? await serverStates(state.haproxy.statsPort).catch(() => new Map<string, string>()) : new Map<string, string>();
  if (state.haproxy) console.log(`haproxy     pid ${state.haproxy.pid} :${state.haproxy.port} ${ours(state.haproxy) ? "running" : "stopped"}  stats :${state.haproxy.statsPort}/stats`);
  for (const p of state.instances) {
    console.log(`instance ${p.instanceId}  pid ${p.pid} :${p.port} ${ours(p) ? "running" : "stopped"}  haproxy: ${states.get(`app-${p.port}`) ?? "-"}`);
  }
  return 0;
}

async function main(): Promise<number> {
  const line = parseCommand(USAGE, {
    instances: { type: "string" },
    port: { type: "string" },
    "stats-port": { type: "string" },
    name: { type: "string" },
    "base-port": { type: "string" },
    cluster: { type: "boolean" },
  });
  if ("exitCode" in line) return line.exitCode;
  const { command, values } = line;
  const name = values.name ?? DEFAULTS.name;
  clusterDir(REPO_ROOT, name); // validates the name
  switch (command) {
    case "up": {
      const instances = Number(values.instances ?? 3);
      const port = Number(values.port ?? 8080);
      const statsPort = Number(values["stats-port"] ?? 8404);
      if (!Number.isInteger(instances) || instances < 1 || instances > 63) throw new Error(`--instances must be 1..63 (INSTANCE_ID is 0..63), got ${values.instances}`);
      for (const [flag, p] of [["--port", port], ["--stats-port", statsPort]] as const) {
        if (!Number.isInteger(p) || p < 1024 || p + instances > 65535) throw new Error(`${flag} must be 1024..${65535 - instances}, got ${p}`);
      }
      await up(name, instances, port, statsPort, values["base-port"] === undefined ? undefined : Number(values["base-port"]));
      return 0;
    }
    case "down":
      await down(name, values.cluster ?? false);
      return 0;
    case "status":
      return status(name);
    case "restart":
      await restart(name);
      return 0;
    default:
      console.error(`unknown command "${command}"\n${USAGE}`);
      return 2;
  }
}

if (import.meta.main) runCli("multi", main);
