import { spawn, type Subprocess } from "bun";
import postgres from "postgres";
import { clusterAddShard, clusterDir, clusterDown, clusterEnvVars, clusterUpOnFreePorts, readState, REPO_ROOT, type ClusterState } from "../scripts/cluster/index";
import { FLEET_ENV, startHaproxy, TEST_CHECK, type HaproxyProcess } from "./haproxy";
import { startServer, type ServerProcess } from "./server-process";
import { eventually } from "./eventually";

const ROOT = new URL("..", import.meta.url).pathname;

// Fast convergence for tests: instances poll the catalog every 200 ms, and an instance silent for
// 2 s counts as dead (so the mover stops waiting for a killed one within seconds).
// Clicks flush every 300 ms so the click checks need not wait long.
const TOPOLOGY_ENV = { TOPOLOGY_POLL_MS: "200", TOPOLOGY_LIVE_MS: "2000", RATE_LIMIT_ENABLED: "false", SHUTDOWN_DRAIN_MS: "1000", CLICK_FLUSH_MS: "300", ANALYTICS_FLUSH_MS: "300", ADMIN_TOKEN: "reshard-fleet-admin-token" };
export const FLEET_ADMIN = { authorization: `Bearer ${TOPOLOGY_ENV.ADMIN_TOKEN}` };

export interface MoverRun {
  proc: Subprocess;
  output(): string;
  /** Resolves once the mover printed `text`. */
  waitFor(text: string | RegExp, timeoutMs?: number): Promise<void>;
  exited: Promise<number>;
}

/**
 * A cluster of its own (re-sharding changes the ring, which the runner's shared cluster must
 * keep), instances on it behind the real HAProxy, and the operator's tools: add a shard, roll
 * the instances onto the new node lists, run `bun run reshard`. `ha`: the PostgreSQL pairs under
 * pg_auto_failover.
 *
 * @example
 *   const f = await startReshardFleet("rs", 3, [31, 32, 33]);
 *   await f.addShard(); await f.rollingRestart();
 *   expect(await f.mover(["add"]).exited).toBe(0);
 */
export async function startReshardFleet(name: string, shards: number, ids: readonly number[], options: { ha?: boolean } = {}) {
  // Below the kernel's ephemeral ports (32768+), where a busy box's client sockets would take ports at random.
  await clusterUpOnFreePorts({ name, shards, firstBase: 27_000, slots: 57, spareShards: 1, ha: options.ha });
  let state: ClusterState = readState(clusterDir(REPO_ROOT, name));
  const env = (id: number) => ({ ...FLEET_ENV, ...TOPOLOGY_ENV, ...clusterEnvVars(state), INSTANCE_ID: String(id) });
  const instances: ServerProcess[] = [];
  let lb: HaproxyProcess | null = null;
  const sqls: postgres.Sql[] = [];
  try {
    for (const id of ids) instances.push(await startServer(env(id)));
    lb = await startHaproxy(instances.map((s) => s.port), { check: TEST_CHECK });
  } catch (error) {
    await Promise.all(instances.map((s) => s.stop()));
    await clusterDown({ name, wipe: true });
    throw error;
  }
  const balancer = lb;

  const fleet = {
    instances,
    lb: balancer,
    get state() {
      return state;
    },
    /** One PostgreSQL client per primary, shard order (for checks the API cannot make). */
    primaries(): postgres.Sql[] {
      while (sqls.length < state.shards) {
        const url = state.nodes.find((n) => n.shard === sqls.length && n.role === "primary")!.url;
        sqls.push(postgres(url, { max: 2, onnotice: () => {} }));
      }
      return sqls;
    },
    async addShard(): Promise<void> {
      state = await clusterAddShard({ name });
    },
    /** Restarts instance `i` on its port with the current node lists (SIGTERM, or SIGKILL for a crash). */
    async restart(i: number, signal: "SIGTERM" | "SIGKILL" = "SIGTERM"): Promise<void> {
      await instances[i]!.stop(signal);
      instances[i] = await startServer(env(ids[i]!), { port: instances[i]!.port });
      await balancer.waitStatus(instances[i]!.port, "UP", 15_000);
    },
    /** Each instance in turn, as an operator rolls out new env behind HAProxy. */
    async rollingRestart(): Promise<void> {
      for (let i = 0; i < instances.length; i++) await fleet.restart(i);
    },
    kill(i: number): void {
      instances[i]!.proc.kill("SIGKILL");
    },
    mover(args: string[]): MoverRun {
      let out = "";
      const proc = spawn({ cmd: [process.execPath, "scripts/reshard.ts", ...args], cwd: ROOT, env: { ...process.env, ...clusterEnvVars(state) }, stdout: "pipe", stderr: "pipe" });
      const collect = async (stream: ReadableStream<Uint8Array>) => {
        const decoder = new TextDecoder();
        for await (const chunk of stream) out += decoder.decode(chunk, { stream: true });
      };
      void collect(proc.stdout as ReadableStream<Uint8Array>);
      void collect(proc.stderr as ReadableStream<Uint8Array>);
      return {
        proc,
        output: () => out,
        exited: proc.exited,
        waitFor: async (text, timeoutMs = 60_000) => {
          await eventually(
            async () => {
              if (typeof text === "string" ? out.includes(text) : text.test(out)) return true;
              if (proc.exitCode !== null) throw new Error(`mover exited (${proc.exitCode}) before printing ${text}:\n${out}`);
              return undefined;
            },
            `mover to print ${text}`,
            timeoutMs,
          );
        },
      };
    },
    async stop(): Promise<void> {
      await balancer.stop();
      await Promise.all(instances.map((s) => s.stop()));
      await Promise.all(sqls.map((s) => s.end({ timeout: 2 })));
      await clusterDown({ name, wipe: true });
    },
  };
  return fleet;
}

export type ReshardFleet = Awaited<ReturnType<typeof startReshardFleet>>;

export interface MixedLoad {
  /** Redirects that did not answer 302 to the seeded URL (status or error, with time). */
  redirectFailures: string[];
  redirects: number;
  /** Creates answered 201/200: code → URL. */
  acknowledged: Map<string, string>;
  createFailures: number;
  stop(): Promise<void>;
}

/**
 * Redirects over seeded links (checking each Location) plus a trickle of new creates, until
 * stop() or the caps. Paced (pauseMs) so the box keeps room for the mover and the instances.
 */
export function startMixedLoad(url: string, seeded: readonly (readonly [string, string])[], options: { readers: number; writers: number; pauseMs: number; maxMs: number }): MixedLoad {
  const load: MixedLoad = { redirectFailures: [], redirects: 0, acknowledged: new Map(), createFailures: 0, stop: async () => {} };
  const t0 = performance.now();
  let stopping = false;
  const done = () => stopping || performance.now() - t0 > options.maxMs;
  const reader = async (k: number) => {
    for (let i = k; !done(); i += options.readers) {
      const [code, longUrl] = seeded[(i * 7919) % seeded.length]!;
      load.redirects++;
      try {
        const res = await fetch(`${url}/${code}`, { redirect: "manual", signal: AbortSignal.timeout(10_000) });
        await res.arrayBuffer();
        if (res.status !== 302 || res.headers.get("location") !== longUrl) load.redirectFailures.push(`${Math.round(performance.now() - t0)} ms: ${code} → ${res.status} ${res.headers.get("location")}`);
      } catch (error) {
        load.redirectFailures.push(`${Math.round(performance.now() - t0)} ms: ${code} → ${(error as Error).message}`);
      }
      await Bun.sleep(options.pauseMs);
    }
  };
  const writer = async (k: number) => {
    for (let i = 0; !done(); i++) {
      const longUrl = `https://example.com/during/${process.pid}/${k}/${i}/${crypto.randomUUID()}`;
      try {
        const res = await fetch(`${url}/create`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ url: longUrl }), signal: AbortSignal.timeout(10_000) });
        const body = (await res.json()) as { short_code?: string };
        if ((res.status === 201 || res.status === 200) && body.short_code) load.acknowledged.set(body.short_code, longUrl);
        else load.createFailures++;
      } catch {
        load.createFailures++;
      }
      await Bun.sleep(options.pauseMs * 4);
    }
  };
  const workers = [...Array.from({ length: options.readers }, (_, k) => reader(k)), ...Array.from({ length: options.writers }, (_, k) => writer(k))];
  load.stop = async () => {
    stopping = true;
    await Promise.all(workers);
  };
  return load;
}

/** Creates `n` links through `url` with `concurrency` clients; returns [code, longUrl] pairs. */
export async function seedLinks(url: string, n: number, concurrency: number, tag: string): Promise<Array<[string, string]>> {
  const out: Array<[string, string]> = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const longUrl = `https://example.com/${tag}/${next++}`;
        const res = await fetch(`${url}/create`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ url: longUrl }) });
        const body = (await res.json()) as { short_code?: string };
        if (res.status !== 201 || !body.short_code) throw new Error(`seed create answered ${res.status}: ${JSON.stringify(body)}`);
        out.push([body.short_code, longUrl]);
      }
    }),
  );
  return out;
}
