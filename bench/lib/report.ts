import { cpus, totalmem } from "node:os";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { findBinaries } from "../../scripts/cluster/binaries";
import type { BenchArgs } from "./args";
import type { Check, Target } from "./checks";
import type { ScenarioReport } from "./context";
import { commandVersion, ROOT } from "./proc";

export interface Machine {
  cores: number;
  model: string;
  memory_gb: number;
  kernel: string;
  bun: string;
  postgres: string;
  redis: string;
  wrk: string;
  k6: string;
  haproxy: string;
  /** The code measured: commit and how many files under src/, workers/ differ from it. */
  git: string;
}

export async function machineInfo(): Promise<Machine> {
  let model = cpus()[0]?.model ?? "unknown";
  try {
    model = /model name\s*:\s*(.+)/.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1]?.trim() ?? model;
  } catch {
    // not Linux
  }
  let pg = "unknown";
  let redis = "unknown";
  try {
    const b = findBinaries();
    [pg, redis] = await Promise.all([commandVersion([join(b.pgBin, "postgres"), "--version"]), commandVersion([b.redisServer, "--version"])]);
  } catch {
    // reported as unknown
  }
  const [wrk, k6, haproxy, kernel, commit, dirty] = await Promise.all([
    commandVersion(["wrk", "-v"]),
    commandVersion(["k6", "version"]),
    commandVersion(["haproxy", "-v"]),
    commandVersion(["uname", "-r"]),
    commandVersion(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]),
    gitDirty(),
  ]);
  return { cores: cpus().length, model, memory_gb: Math.round(totalmem() / 2 ** 30), kernel, bun: Bun.version, postgres: pg, redis, wrk, k6, haproxy, git: `${commit}${dirty > 0 ? ` + ${dirty} uncommitted file(s) in src/, workers/` : ""}` };
}

async function gitDirty(): Promise<number> {
  try {
    const p = Bun.spawn(["git", "-C", ROOT, "status", "--porcelain", "--", "src", "workers"], { stdout: "pipe", stderr: "ignore" });
    const out = await new Response(p.stdout).text();
    await p.exited;
    return out.split("\n").filter((l) => l.trim() !== "").length;
  } catch {
    return 0;
  }
}

export interface RunReport {
  started_at: string;
  args: BenchArgs;
  machine: Machine;
  scenarios: ScenarioReport[];
  checks: Check[];
  targets: Target[];
  ok: boolean;
  seconds: number;
}

export function writeScenarioFiles(dir: string, stamp: string, run: RunReport, scenario: ScenarioReport): string {
  mkdirSync(dir, { recursive: true });
  const base = join(dir, `${stamp}-${scenario.scenario}${run.args.smoke ? "-smoke" : ""}${run.args.tag ? `-${run.args.tag}` : ""}`);
  const one: RunReport = { ...run, scenarios: [scenario], checks: scenario.checks, targets: scenario.targets, ok: scenario.checks.every((c) => c.ok) };
  writeFileSync(`${base}.json`, `${JSON.stringify(one, null, 2)}\n`);
  writeFileSync(`${base}.md`, markdown(one, `Benchmark: ${scenario.scenario}`, true));
  return `${base}.md`;
}

/** bench/results/summary.{md,json}: the headline figures of `bench all`, quoted by the README. */
export function writeSummary(dir: string, run: RunReport): string {
  const slim = { ...run, scenarios: run.scenarios.map(({ runs: _runs, ...rest }) => rest) };
  writeFileSync(join(dir, "summary.json"), `${JSON.stringify(slim, null, 2)}\n`);
  writeFileSync(join(dir, "summary.md"), markdown(run, "Benchmark summary (`bun run bench all`)", false));
  return join(dir, "summary.md");
}

export function markdown(run: RunReport, title: string, detail: boolean): string {
  const m = run.machine;
  const L: string[] = [`# ${title}`, ""];
  const head = headline(run);
  L.push(`Run ${run.started_at}${run.args.smoke ? " (smoke)" : ""}, ${run.seconds.toFixed(0)} s in all. Tool: ${run.args.tool}${run.args.tool === "wrk" ? " (+ bench/lib/open-loop.ts for fixed rate)" : ""}. Instances: ${run.args.instances}${run.args.haproxy ? " behind HAProxy" : ", direct"}.`);
  L.push("");
  L.push(`Code: ${m.git}.${run.args.tag ? ` Tag: ${run.args.tag}.` : ""}`, "");
  L.push(`Machine: ${m.cores} cores, ${m.model}, ${m.memory_gb} GB, Linux ${m.kernel}; Bun ${m.bun}; ${m.postgres}; ${m.redis.replace(/ sha=.*/, "")}; ${m.wrk}; HAProxy: ${m.haproxy.replace(/ - https.*/, "")}; k6: ${m.k6}.`);
  L.push("Everything (cluster of 3 shards × Redis + PG primary + PG replica, app, baselines, load tools) shares these cores, so figures are relative: each ratio compares runs interleaved in the same session.");
  L.push("");
  if (head.length > 0) L.push("## Headline", "", "| measure | ours | baseline | ratio / note |", "| --- | --- | --- | --- |", ...head, "");
  for (const s of run.scenarios) {
    L.push(`## ${s.scenario}`, "");
    L.push("| figure | value |", "| --- | --- |");
    for (const [k, v] of Object.entries(s.summary)) L.push(`| ${k} | ${fmt(v)} |`);
    L.push("");
    if (s.targets.length > 0) {
      L.push("| target | value | goal | met |", "| --- | --- | --- | --- |");
      for (const t of s.targets) L.push(`| ${t.name} | ${fmt(t.value)} | ${t.target} | ${t.met === null ? "n/a" : t.met ? "yes" : "**no**"} |`);
      L.push("");
    }
    L.push("| threshold | value | limit | ok |", "| --- | --- | --- | --- |");
    for (const c of s.checks) L.push(`| ${c.name} | ${fmt(c.value)} | ${c.limit} | ${c.ok ? "yes" : "**FAIL**"} |`);
    L.push("");
    for (const n of s.notes) L.push(`- ${n}`);
    if (s.markdown) L.push("", s.markdown);
    L.push("", `Settings: \`${JSON.stringify(s.settings)}\``, "");
    if (detail) L.push("<details><summary>runs (JSON)</summary>", "", "```json", JSON.stringify(s.runs, null, 1).slice(0, 60_000), "```", "</details>", "");
  }
  L.push(`Thresholds: ${run.checks.filter((c) => c.ok).length}/${run.checks.length} held${run.ok ? "" : ` — FAILED: ${run.checks.filter((c) => !c.ok).map((c) => `${c.scenario}: ${c.name}`).join("; ")}`}.`, "");
  return `${L.join("\n")}\n`;
}

function fmt(v: unknown): string {
  if (v === null || v === undefined) return "–";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : String(Math.round(v * 1000) / 1000);
  return String(v);
}

/** The figures the README quotes, one row each, from whichever scenarios ran. */
function headline(run: RunReport): string[] {
  const get = (scenario: string) => run.scenarios.find((s) => s.scenario === scenario)?.summary;
  const rows: string[] = [];
  const r = get("redirects");
  if (r && r.ours_rps !== undefined) {
    rows.push(`| cached redirects over ${fmt(r.hot_codes ?? "the hot")} hot codes, req/s (events, metrics, clicks on, dashboard client connected) | ${fmt(r.ours_rps)} | floor ${fmt(r.floor_rps)} | ${fmt(r.ratio_to_floor)} (target >= 1.0); from memory ${fmt(r.memory_share)} |`);
    rows.push(`| latency at max load p50 / p95 / p99, ms | ${fmt(r.ours_p50_ms)} / ${fmt(r.ours_p95_ms)} / ${fmt(r.ours_p99_ms)} | floor p50 ${fmt(r.floor_p50_ms)}, p99 ${fmt(r.floor_p99_ms)} | wrk, ${run.args.connections} connections |`);
    rows.push(`| server CPU per redirect, µs | ${fmt(r.ours_cpu_us_per_req)} | floor ${fmt(r.floor_cpu_us_per_req)} | ${typeof r.ours_cpu_us_per_req === "number" && typeof r.floor_cpu_us_per_req === "number" ? fmt(Math.round((100 * r.floor_cpu_us_per_req) / r.ours_cpu_us_per_req) / 100) : "–"} (floor / ours) |`);
    rows.push(`| p50 / p95 / p99 at half of max (${fmt(r.fixed_rate)} req/s, open loop), ms | ${fmt(r.fixed_p50_ms)} / ${fmt(r.fixed_p95_ms)} / ${fmt(r.fixed_p99_ms)} | floor p50 ${fmt(r.floor_fixed_p50_ms)}, p99 ${fmt(r.floor_fixed_p99_ms)} | p99 target < 5 ms |`);
    rows.push(`| cache hit rate once warm (x-cache / backend) | ${fmt(r.hit_rate)} / ${fmt(r.backend_hit_rate)} | | floor ${run.args.hitRateFloor} |`);
    if (r.clicks_fixed_in_db !== undefined) rows.push(`| clicks in link_clicks after SIGTERM vs 302s served (fixed-rate runs) | ${fmt(r.clicks_fixed_in_db)} | ${fmt(r.clicks_fixed_served_302)} 302s | difference ${fmt(r.clicks_fixed_difference)} (target 0); whole scenario ${fmt(r.clicks_scenario_in_db)} clicks / ${fmt(r.clicks_scenario_served_302)} 302s read by the tools |`);
  }
  const z = get("zipf");
  if (z && z.zipf_ours_rps !== undefined) {
    rows.push(`| Zipf(s=${run.args.zipfS}) redirects over ${fmt(z.links)} links, req/s | ${fmt(z.zipf_ours_rps)} | floor ${fmt(z.zipf_floor_rps)} | ${fmt(z.zipf_ratio_to_floor)} (target >= 0.9); from memory ${fmt(z.zipf_ours_memory_share)} |`);
    rows.push(`| uniform redirects over ${fmt(z.links)} links, req/s | ${fmt(z.uniform_ours_rps)} | floor ${fmt(z.uniform_floor_rps)} | ${fmt(z.uniform_ratio_to_floor)} (reported); from memory ${fmt(z.uniform_ours_memory_share)} |`);
  }
  const e = get("events");
  if (e && e.subscriber_rps !== undefined) rows.push(`| cached redirects with a WebSocket subscriber vs none, req/s | ${fmt(e.subscriber_rps)} | none ${fmt(e.no_subscriber_rps)} | ${fmt(e.ratio_subscriber_to_none)} (target >= 0.90); schema errors ${fmt(e.schema_errors)} |`);
  const c = get("creates");
  if (c && c.ours_creates_per_s !== undefined) {
    rows.push(`| creates/s (10 % repeats; ${fmt(c.cluster)}) | ${fmt(c.ours_creates_per_s)} | raw INSERT ${fmt(c.raw_inserts_per_s)}/s | ${fmt(c.ratio_to_raw_insert)} (target >= 1.0); vs raw create SQL ${fmt(c.raw_create_sql_per_s)}/s: ${fmt(c.ratio_to_raw_create_sql)}; ${fmt(c.creates_per_statement)} creates per statement |`);
    rows.push(`| create latency p50 / p95 / p99, ms | ${fmt(c.ours_p50_ms)} / ${fmt(c.ours_p95_ms)} / ${fmt(c.ours_p99_ms)} | raw p50 ${fmt(c.raw_p50_ms)}, p99 ${fmt(c.raw_p99_ms)} | repeats same code: ${fmt(c.repeat_same_code_rate)} |`);
  }
  const f = get("fallback");
  if (f && f.failed_redirects !== undefined) rows.push(`| failed redirects / creates while one node of shard 0 is down | ${fmt(f.failed_redirects)} of ${fmt(f.redirects)} / ${fmt(f.failed_creates)} of ${fmt(f.creates)} | | Redis, replica, primary each down in turn |`);
  return rows;
}

/** Writes a drill's markdown report to bench/results/<stamp>-<name>.md and prints it with its path. */
export function writeDrillReport(name: string, report: string): void {
  const dir = join(ROOT, "bench/results");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${new Date().toISOString().replace(/[:.]/g, "-").replace(/Z$/, "")}-${name}.md`);
  writeFileSync(file, `${report}\n`);
  console.log(`${report}\n\nreport: ${file}`);
}
