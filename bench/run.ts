#!/usr/bin/env bun
/**
 * `bun run bench <redirects|zipf|creates|fallback|events|attribution|reshard|all> [--smoke] [--instances N] [--haproxy] [--duration S] [--rate R]`
 *
 * Boots its own cluster (bench-<pid>, free ports, --fast; fsync on when creates runs alone,
 * and creates in `all` boots a durable cluster of its own), N app instances (rate limiting off,
 * distinct INSTANCE_IDs) and the floor server(s), HAProxy when asked (implied by N > 1), runs
 * the scenarios with k6 when it is on PATH, else wrk (+ bench/lib/open-loop.ts for fixed rate),
 * writes bench/results/<stamp>-<scenario>.{md,json} (and summary.{md,json} for `all`), and
 * tears everything down, always. Exit 1 when a threshold broke; targets are reported only.
 *
 * Extra flags: --rounds K (alternations of baseline/ours, default 3; smoke 1), --connections C,
 * --tool wrk|k6, --hit-rate-floor X, --p99-ms X (bound for the fixed-rate run, not in smoke),
 * --out DIR (results folder), --tag NAME (in the report file names, e.g. an A/B variant),
 * --quiet-wait S (before each measured run wait up to S s until processes outside this checkout
 * use < 0.15 cores; default 60, smoke 0 = off; every run reports those processes' cores).
 * zipf: --links N (1,000,000; smoke 20,000), --zipf-s S. creates: --creates-cluster durable|shared.
 * reshard (3 instances behind HAProxy by default; not part of `all`, it changes the ring):
 * --links N, --mover-rate ROWS_PER_S, --mover-batch ROWS.
 */
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { parseArgs, type Scenario } from "./lib/args";
import { installSignalCleanup, onCleanup, runCleanup, wasInterrupted } from "./lib/cleanup";
import type { Ctx, ScenarioReport } from "./lib/context";
import { hasK6 } from "./lib/k6";
import { setQuietGate } from "./lib/cpu";
import { ROOT } from "./lib/proc";
import { machineInfo, writeScenarioFiles, writeSummary, type RunReport } from "./lib/report";
import { createsScenario } from "./lib/scenario-creates";
import { eventsScenario } from "./lib/scenario-events";
import { attributionScenario } from "./lib/scenario-attribution";
import { fallbackScenario } from "./lib/scenario-fallback";
import { redirectsScenario } from "./lib/scenario-redirects";
import { reshardScenario } from "./lib/scenario-reshard";
import { zipfScenario } from "./lib/scenario-zipf";
import { startStack } from "./lib/stack";

const SCENARIO_FNS: Record<Scenario, (ctx: Ctx) => Promise<ScenarioReport>> = {
  redirects: redirectsScenario,
  zipf: zipfScenario,
  events: eventsScenario,
  creates: createsScenario,
  fallback: fallbackScenario,
  attribution: attributionScenario,
  reshard: reshardScenario,
};

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs(Bun.argv.slice(2), hasK6());
  } catch (error) {
    console.error((error as Error).message);
    return 2;
  }
  installSignalCleanup();
  const t0 = performance.now();
  const log0 = (line: string) => console.error(`[bench ${((performance.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${line}`);
  // A shared box: before each measured run, wait (bounded) until other checkouts' processes idle.
  setQuietGate({ enabled: args.quietWaitS > 0, maxWaitMs: args.quietWaitS * 1000, log: log0 });
  const startedAt = new Date();
  const stamp = startedAt.toISOString().replace(/[:.]/g, "-").replace(/Z$/, "");
  const resultsDir = args.out ?? join(ROOT, "bench/results");
  const workDir = join(resultsDir, `.work-${process.pid}`);
  mkdirSync(workDir, { recursive: true });
  onCleanup("work dir", () => rmSync(workDir, { recursive: true, force: true }));
  const log = log0;
  log(`${args.scenarios.join(", ")}${args.smoke ? " (smoke)" : ""} with ${args.tool}, ${args.instances} instance(s)${args.haproxy ? " behind HAProxy" : ""}${args.tag ? `, tag ${args.tag}` : ""}`);

  const machine = await machineInfo();
  // Creates alone on a durable cluster: the main stack is started with fsync on and creates uses it.
  const durable = args.scenarios.length === 1 && args.scenarios[0] === "creates" && args.createsCluster === "durable";
  const stack = await startStack({ instances: args.instances, haproxy: args.haproxy, workDir, log, durable });
  const ctx: Ctx = { args, stack, load: { tool: args.tool, workDir }, workDir, log, shared: {} };
  const reports: ScenarioReport[] = [];
  const run = (): RunReport => {
    const checks = reports.flatMap((r) => r.checks);
    return { started_at: startedAt.toISOString(), args, machine, scenarios: reports, checks, targets: reports.flatMap((r) => r.targets), ok: checks.every((c) => c.ok), seconds: (performance.now() - t0) / 1000 };
  };
  for (const name of args.scenarios) {
    if (wasInterrupted()) break;
    log(`— ${name} —`);
    let report: ScenarioReport;
    try {
      report = await SCENARIO_FNS[name](ctx);
    } catch (error) {
      // A scenario that crashed is a failed threshold, and the others still run.
      log(`${name} failed: ${(error as Error).stack ?? error}`);
      report = { scenario: name, seconds: 0, settings: {}, summary: {}, runs: {}, checks: [{ scenario: name, name: "scenario ran to completion", ok: false, value: (error as Error).message, limit: "no error" }], targets: [], notes: [] };
    }
    reports.push(report);
    for (const c of report.checks) log(`  ${c.ok ? "ok  " : "FAIL"} ${c.name}: ${c.value} (${c.limit})`);
    for (const t of report.targets) log(`  target ${t.name}: ${t.value} (${t.target}) ${t.met === null ? "n/a" : t.met ? "met" : "MISSED"}`);
    log(`  report: ${writeScenarioFiles(resultsDir, stamp, run(), report)}`);
  }
  const final = run();
  if (args.all) {
    // The committed summary is the full run's; a smoke run writes its own copy next to the reports.
    const dir = args.smoke ? join(resultsDir, `${stamp}-all-smoke`) : resultsDir;
    mkdirSync(dir, { recursive: true });
    log(`summary: ${writeSummary(dir, final)}`);
  }
  log(`${final.ok ? "all thresholds held" : `thresholds FAILED: ${final.checks.filter((c) => !c.ok).map((c) => `${c.scenario}: ${c.name}`).join("; ")}`}`);
  // Machine-readable pointer for test/bench/smoke.test.ts.
  console.log(`BENCH_RESULT ${JSON.stringify({ ok: final.ok, stamp, dir: resultsDir, scenarios: reports.map((r) => r.scenario) })}`);
  return final.ok ? 0 : 1;
}

let code = 1;
try {
  code = await main();
} catch (error) {
  console.error(`bench: ${(error as Error).stack ?? error}`);
} finally {
  await runCleanup();
}
process.exit(wasInterrupted() ? 130 : code);
