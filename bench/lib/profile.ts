#!/usr/bin/env bun
/**
 * Where a cached redirect's CPU goes: boots a private cluster, runs `bun --cpu-prof src/main.ts`
 * under wrk (hot codes only, all cached) and prints self time per function and per package
 * from the profile, plus the throughput. Extra app env as KEY=VALUE arguments, e.g. to compare
 * EVENT_FLUSH_MS=1000 against the default.
 *
 *   bun bench/lib/profile.ts [--seconds 8] [--connections 64] [--creates] [--no-prof] [KEY=VALUE ...]
 *
 * --creates profiles POST /create (unique URLs) instead of redirects; --ws keeps a dashboard-like
 * WebSocket client (the dashboard's topics; with --full-stream, events,metrics) connected during
 * the profiled run.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { clusterDown, clusterEnvVars, readState } from "../../scripts/cluster/index";
import { freePort } from "../../harness/server-process";
import { installSignalCleanup, onCleanup, runCleanup } from "./cleanup";
import { BUN, ROOT, startChild, waitHttp } from "./proc";
import { createLinks, writeCodesFile } from "./seed";
import { bootCluster, INSTANCE_ENV } from "./stack";
import { runWrk } from "./wrk";
import { withCpu } from "./cpu";
import { connectWsClient, DASHBOARD_TOPICS } from "./dashboard-client";
import { numberFlag } from "./args";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export function summarise(profile: CpuProfile, top = 25): string {
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + Math.max(0, profile.timeDeltas[i] ?? 0)));
  const total = [...self.values()].reduce((a, b) => a + b, 0) || 1;
  const byFn = new Map<string, number>();
  const byPkg = new Map<string, number>();
  for (const node of profile.nodes) {
    const t = self.get(node.id) ?? 0;
    if (t === 0) continue;
    const f = node.callFrame;
    const file = f.url.replace(/^file:\/\//, "").replace(ROOT, "");
    const fn = `${f.functionName || "(anonymous)"} ${file}:${f.lineNumber + 1}`;
    byFn.set(fn, (byFn.get(fn) ?? 0) + t);
    byPkg.set(packageOf(file, f.functionName), (byPkg.get(packageOf(file, f.functionName)) ?? 0) + t);
  }
  const pct = (t: number) => `${((100 * t) / total).toFixed(1).padStart(5)}%`;
  const lines = ["self time by package/area:"];
  for (const [k, t] of [...byPkg].sort((a, b) => b[1] - a[1]).slice(0, 20)) lines.push(`  ${pct(t)}  ${k}`);
  lines.push(`top ${top} functions by self time:`);
  for (const [k, t] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${pct(t)}  ${k}`);
  return lines.join("\n");
}

function packageOf(file: string, fn: string): string {
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file);
  if (nm) return nm[1]!;
  if (file.startsWith("src/")) return file.split("/").slice(0, 2).join("/");
  if (file === "") return fn.startsWith("(") ? fn : "(native/builtin)";
  return file.split("/")[0]!;
}

if (import.meta.main) {
  installSignalCleanup();
  const argv = Bun.argv.slice(2);
  const flag = (name: string, fallback: number) => numberFlag(argv, name, fallback);
  const prof = !argv.includes("--no-prof");
  const extraEnv = Object.fromEntries(argv.filter((a) => /^[A-Z_]+=/.test(a)).map((a) => [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)]));
  const name = `bench-prof-${process.pid}`;
  const dir = join(ROOT, "bench/results", `.prof-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  try {
    onCleanup(`cluster ${name}`, () => clusterDown({ name, wipe: true }));
    await bootCluster(name);
    const env = clusterEnvVars(readState(join(ROOT, ".cluster", name)));
    const port = await freePort();
    const cmd = [BUN, ...(prof ? ["--cpu-prof", `--cpu-prof-dir=${dir}`] : []), "src/main.ts"];
    // Public observability, as the other benches run it: --ws subscribes without a key.
    const app = startChild("profiled app", cmd, { env: { ...env, ...INSTANCE_ENV, HOST: "127.0.0.1", PORT: String(port), OBSERVABILITY_PUBLIC: "true", ...extraEnv } });
    const url = `http://127.0.0.1:${port}`;
    await waitHttp(`${url}/health/ready`);
    const made = await createLinks(url, Array.from({ length: 200 }, (_, i) => `https://bench.example/prof/${process.pid}/${i}`));
    const codesFile = writeCodesFile(join(dir, "codes.txt"), made.map((m) => ({ ...m, hot: true })));
    const creates = argv.includes("--creates");
    const load = (label: string, durationS: number) =>
      creates
        ? runWrk({ label, url, script: "creates", env: { REPEATS_FILE: "", REPEAT_SHARE: "0", RUN_ID: `${process.pid}${label}` }, connections: flag("connections", 32), durationS })
        : runWrk({ label, url, script: "redirects", env: { CODES_FILE: codesFile, HOT_SHARE: "1", ...(argv.includes("--mix") ? { MIX_HEADERS: "1" } : {}) }, connections: flag("connections", 64), durationS });
    await load("warmup", 2);
    const ws = argv.includes("--ws") ? await connectWsClient(url, argv.includes("--full-stream") ? "events,metrics" : DASHBOARD_TOPICS) : null;
    const { result: r, cpu } = await withCpu([app.proc.pid], [], () => load("profiled", flag("seconds", 8)), (x) => x.requests);
    console.log(`app CPU ${cpu.server_us_per_req.toFixed(1)} µs/request, ${cpu.server_cores.toFixed(2)} cores`);
    if (ws) console.log(`ws client: ${JSON.stringify(await ws.stop())}`);
    console.log(`${r.rps.toFixed(0)} req/s, p50 ${r.latencyMs.p50.toFixed(2)} ms, p99 ${r.latencyMs.p99.toFixed(2)} ms, failed ${r.failed}; env ${JSON.stringify(extraEnv)}`);
    await app.stop(15_000);
    if (prof) {
      const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
      if (!file) throw new Error(`no .cpuprofile in ${dir}: ${app.stderr().slice(-500)}`);
      console.log(summarise(JSON.parse(readFileSync(join(dir, file), "utf8")) as CpuProfile, flag("top", 30)));
      console.log(`profile: ${join(dir, file)} (includes start-up, seeding and warm-up)`);
    }
  } finally {
    await runCleanup();
    if (!prof) rmSync(dir, { recursive: true, force: true });
  }
}
