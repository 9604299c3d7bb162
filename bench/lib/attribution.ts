#!/usr/bin/env bun
/**
 * Where the CPU of a cached redirect goes, layer by layer: the floor, then the app's modules
 * assembled in growing layers (bench/lib/variant-server.ts), then the full app. Each runs alone
 * under the same wrk load (hot codes, all cached); reported as server CPU µs per request (steady
 * on a shared box) and req/s. The difference between two rows is what that layer costs.
 *
 *   bun bench/lib/attribution.ts [--seconds 6] [--connections 64] [--repeat 2] [--only 0,1,9] [KEY=VALUE ...]
 *
 * KEY=VALUE goes to every layer but the floors, e.g. HOT_CACHE_SIZE=0 to measure the memory miss
 * (every redirect asks Redis) against a floor that always does.
 *
 * `bun run bench all` runs it too (scenario "attribution", on its own cluster, not in smoke).
 */
import { join } from "node:path";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { clusterDown, clusterEnvVars, readState } from "../../scripts/cluster/index";
import { freePort } from "../../harness/server-process";
import { installSignalCleanup, onCleanup, runCleanup } from "./cleanup";
import { withCpu } from "./cpu";
import { DASHBOARD_TOPICS } from "./dashboard-client";
import { median } from "./load-result";
import { BUN, ROOT, startChild, waitHttp } from "./proc";
import { createLinks, writeCodesFile } from "./seed";
import { bootCluster, INSTANCE_ENV } from "./stack";
import { runWrk } from "./wrk";
import { numberFlag } from "./args";

export const LAYERS: Array<{ name: string; cmd: string[]; env?: Record<string, string> }> = [
  { name: "floor (Bun.serve + GET on the app's Redis client)", cmd: ["bench/baselines/floor-server.ts"] },
  { name: "floor with ioredis defaults (no auto-pipelining)", cmd: ["bench/baselines/floor-server.ts"], env: { FLOOR_CLIENT: "defaults" } },
  { name: "+ NodePolicy (deadline, breaker)", cmd: ["bench/lib/variant-server.ts"], env: { VARIANT: "policy" } },
  { name: "+ LinkService.resolve (no-op observer)", cmd: ["bench/lib/variant-server.ts"], env: { VARIANT: "service" } },
  { name: "+ metrics + events (EventBus)", cmd: ["bench/lib/variant-server.ts"], env: { VARIANT: "events" } },
  { name: "service in Elysia (no events)", cmd: ["bench/lib/variant-server.ts"], env: { VARIANT: "elysia" } },
  { name: "events in Elysia", cmd: ["bench/lib/variant-server.ts"], env: { VARIANT: "elysia-events" } },
  { name: "events in Elysia + request metrics", cmd: ["bench/lib/variant-server.ts"], env: { VARIANT: "elysia-metrics" } },
  { name: "full app (compose.ts)", cmd: ["src/main.ts"], env: INSTANCE_ENV },
  { name: "full app + dashboard ws client", cmd: ["src/main.ts"], env: { ...INSTANCE_ENV, WITH_WS: DASHBOARD_TOPICS, OBSERVABILITY_PUBLIC: "true" } },
  { name: "full app + full-stream ws client", cmd: ["src/main.ts"], env: { ...INSTANCE_ENV, WITH_WS: "events,metrics", OBSERVABILITY_PUBLIC: "true" } },
];

/** Idle CPU ticks of the whole machine (/proc/stat), to see whether the box itself was saturated. */
function boxIdle(): number {
  const cpu = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/);
  return Number(cpu[4]) + Number(cpu[5]);
}

export interface LayerRow {
  layer: string;
  us_per_req: number[];
  rps: number[];
  idle_cores: number[];
}

/**
 * Runs each layer in turn (each its own process on a free port, against the cluster in `env`)
 * under wrk, `repeat` times, and returns the per-layer CPU µs/request and req/s.
 */
export async function runAttribution(o: { env: Record<string, string>; appEnv?: Record<string, string>; codesFile: string; redisPids: () => number[]; seconds: number; connections: number; repeat: number; only?: number[] | null; log: (line: string) => void }): Promise<LayerRow[]> {
  const rows: LayerRow[] = LAYERS.map((l) => ({ layer: l.name, us_per_req: [], rps: [], idle_cores: [] }));
  for (let r = 0; r < o.repeat; r++) {
    for (const [i, layer] of LAYERS.entries()) {
      if (o.only && !o.only.includes(i)) continue;
      const port = await freePort();
      // INSTANCE_ID 9: distinct from the runner's instances that may share this cluster.
      const app = startChild(layer.name, [BUN, ...layer.cmd], { env: { ...o.env, HOST: "127.0.0.1", PORT: String(port), INSTANCE_ID: "9", ...layer.env, ...(layer.cmd[0]!.includes("baselines/") ? {} : o.appEnv) } });
      const url = `http://127.0.0.1:${port}`;
      try {
        await waitHttp(`${url}/health/ready`);
        let ws: ReturnType<typeof startChild> | null = null;
        if (layer.env?.WITH_WS) {
          ws = startChild("ws client", [BUN, "bench/lib/ws-client.ts", "--url", `ws://127.0.0.1:${port}/ws`, "--topics", layer.env.WITH_WS]);
          await Bun.sleep(500);
        }
        const wrk = (durationS: number) => runWrk({ label: layer.name, url, script: "redirects", env: { CODES_FILE: o.codesFile, HOT_SHARE: "1", COUNT_HEADERS: "0" }, connections: o.connections, durationS });
        await wrk(2);
        const idle0 = boxIdle();
        const { result, cpu } = await withCpu([app.proc.pid], o.redisPids(), () => wrk(o.seconds), (x) => x.requests);
        const idle = (boxIdle() - idle0) / 100 / (cpu.wall_ms / 1000);
        await ws?.stop();
        rows[i]!.us_per_req.push(cpu.server_us_per_req);
        rows[i]!.rps.push(result.rps);
        rows[i]!.idle_cores.push(idle);
        o.log(`  ${layer.name}: ${result.rps.toFixed(0)} req/s, ${cpu.server_us_per_req.toFixed(1)} µs CPU/req, ${cpu.server_cores.toFixed(2)} cores; redis ${(cpu.redis_ms / cpu.wall_ms).toFixed(2)} cores; box idle ${idle.toFixed(2)} cores; failed ${result.failed}`);
      } finally {
        await app.stop();
      }
    }
  }
  return rows.filter((r) => r.us_per_req.length > 0);
}

export function attributionTable(rows: readonly LayerRow[]): string {
  const lines = ["| layer | server CPU µs/req (median) | req/s (median) |", "| --- | --- | --- |"];
  for (const row of rows) lines.push(`| ${row.layer} | ${median(row.us_per_req).toFixed(1)} | ${median(row.rps).toFixed(0)} |`);
  return lines.join("\n");
}

if (import.meta.main) {
  installSignalCleanup();
  const argv = Bun.argv.slice(2);
  const flag = (name: string, fallback: number) => numberFlag(argv, name, fallback);
  const name = `bench-attr-${process.pid}`;
  const dir = join(ROOT, "bench/results", `.attr-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  try {
    onCleanup(`cluster ${name}`, () => clusterDown({ name, wipe: true }));
    onCleanup("attribution dir", () => rmSync(dir, { recursive: true, force: true }));
    await bootCluster(name);
    const env = clusterEnvVars(readState(join(ROOT, ".cluster", name)));
    const seedPort = await freePort();
    const seeder = startChild("seeding app", [BUN, "src/main.ts"], { env: { ...env, ...INSTANCE_ENV, HOST: "127.0.0.1", PORT: String(seedPort) } });
    await waitHttp(`http://127.0.0.1:${seedPort}/health/ready`);
    const made = await createLinks(`http://127.0.0.1:${seedPort}`, Array.from({ length: 200 }, (_, i) => `https://bench.example/attr/${process.pid}/${i}`));
    await seeder.stop();
    const codesFile = writeCodesFile(join(dir, "codes.txt"), made.map((m) => ({ ...m, hot: true })));
    const rows = await runAttribution({
      env,
      appEnv: Object.fromEntries(argv.filter((a) => /^[A-Z_]+=/.test(a)).map((a) => [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)])),
      codesFile,
      redisPids: () => readState(join(ROOT, ".cluster", name)).nodes.flatMap((n) => (n.role === "redis" && n.pid ? [n.pid] : [])),
      seconds: flag("seconds", 6),
      connections: flag("connections", 64),
      repeat: flag("repeat", 2),
      only: argv.includes("--only") ? argv[argv.indexOf("--only") + 1]!.split(",").map(Number) : null,
      log: (line) => console.error(line),
    });
    console.log(attributionTable(rows));
  } finally {
    await runCleanup();
  }
}
