import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { measured, type BackendDelta } from "./backend-metrics";
import { Checks } from "./checks";
import type { Ctx, ScenarioReport } from "./context";
import { createsMax } from "./load";
import { onQuietBox, type BoxUse } from "./cpu";
import { cpuNote, cpuRun, foreignMax, median, medianCpu, medianRun, round, type LoadResult } from "./load-result";
import { BUN, runJsonChild } from "./proc";
import { createLinks } from "./seed";
import { startStack, type Stack } from "./stack";

export const REPEAT_SHARE = 0.1;

interface RawResult {
  mode: string;
  ops: number;
  errors: number;
  seconds: number;
  ops_per_s: number;
  concurrency: number;
  latency_ms: { p50: number; p95: number; p99: number; max: number };
  /** group-commit: statements written and creates per statement. */
  statements?: number;
  per_statement?: number;
  /** Processes outside this benchmark during the run (not the baseline's own CPU). */
  cpu?: BoxUse;
}

/**
 * Creates through the full server (unique URLs plus 10 % repeats, which must get their first
 * code back) vs raw postgres.js INSERTs into the same shard primaries at the same concurrency
 * (bench/baselines/raw-insert.ts), alternating, medians compared. One extra raw run replays the
 * SQL a create of one new URL issues (one CTE: index claim + link insert) to split protocol cost
 * from HTTP/app cost.
 *
 * Durable by default: fsync on, as a deployment runs. When the runner's stack is the --fast one
 * (`all`), a cluster of its own with fsync on and its own instance(s) are started for this
 * scenario and torn down after it (--creates-cluster shared: use the main stack as it is).
 */
export async function createsScenario(ctx: Ctx): Promise<ScenarioReport> {
  const own = ctx.args.createsCluster === "durable" && !ctx.stack.durable;
  if (!own) return createsOn(ctx, ctx.stack);
  const t0 = performance.now();
  const stack = await startStack({ instances: ctx.args.instances, haproxy: ctx.args.haproxy, workDir: ctx.workDir, log: ctx.log, durable: true, floor: false, suffix: "durable" });
  const bootS = (performance.now() - t0) / 1000;
  try {
    const report = await createsOn(ctx, stack);
    report.settings.durable_stack_boot_s = round(bootS, 1);
    return report;
  } finally {
    await stack.stop();
  }
}

async function createsOn(ctx: Ctx, stack: Stack): Promise<ScenarioReport> {
  const { args, log } = ctx;
  const started = performance.now();
  const c = new Checks("creates");
  const urls = () => stack.instances.map((s) => s.url);
  const connections = args.smoke ? 4 : Math.min(args.connections, 32);
  const repeatCount = args.smoke ? 20 : 100;
  const tag = `c${process.pid}`;
  const repeats = await createLinks(stack.oursUrl, Array.from({ length: repeatCount }, (_, i) => `https://bench.example/repeat/${tag}/${i}`));
  const repeatsFile = join(ctx.workDir, "repeats.txt");
  writeFileSync(repeatsFile, `${repeats.map((r) => `${r.code} ${r.longUrl}`).join("\n")}\n`);
  const primaries = stack.shards.map((s) => s.primary).join(",");
  const raw = async (mode: "insert" | "create-sql" | "group-commit", durationS: number): Promise<RawResult> => {
    const { result, box } = await onQuietBox(() => runJsonChild<RawResult>(`raw-insert ${mode}`, [BUN, "bench/baselines/raw-insert.ts"], { env: { PRIMARIES: primaries, CONCURRENCY: String(connections), DURATION_S: String(durationS), POOL_SIZE: "8", MODE: mode } }));
    return { ...result, cpu: box };
  };
  const base = { url: stack.oursUrl, repeatsFile, repeatShare: REPEAT_SHARE, connections, durationS: args.duration };

  await createsMax(ctx.load, { ...base, label: "warmup", durationS: 1, runId: `${tag}w` });
  await raw("insert", 1);
  const ours: LoadResult[] = [];
  const baseline: RawResult[] = [];
  const backend: BackendDelta[] = [];
  for (let r = 0; r < args.rounds; r++) {
    for (const who of r % 2 === 0 ? ["raw", "ours"] : ["ours", "raw"]) {
      if (who === "raw") {
        const b = await raw("insert", args.duration);
        baseline.push(b);
        log(`  raw-insert-${r + 1}: ${b.ops_per_s.toFixed(0)} inserts/s, p99 ${b.latency_ms.p99.toFixed(2)} ms, errors ${b.errors}; postgres ${b.cpu?.postgres_cores.toFixed(2)}, box busy ${b.cpu?.box_busy_cores.toFixed(2)} cores; other processes ${b.cpu?.foreign_cores.toFixed(2)} cores`);
      } else {
        const m = await measured(urls(), () => cpuRun(stack.oursPids, stack.redisPids(), () => createsMax(ctx.load, { ...base, label: `ours-${r + 1}`, runId: `${tag}r${r}` })));
        ours.push(m.result);
        backend.push(m.backend);
        log(`  ours-${r + 1}: ${m.result.rps.toFixed(0)} creates/s, p99 ${m.result.latencyMs.p99.toFixed(2)} ms, failed ${m.result.failed}, repeats ok ${m.result.counts.repeat_ok ?? 0}, ${cpuNote(m.result)}`);
      }
    }
  }
  const sameSql = await raw("create-sql", args.duration);
  log(`  raw create-sql: ${sameSql.ops_per_s.toFixed(0)} ops/s, p50 ${sameSql.latency_ms.p50.toFixed(2)} ms; postgres ${sameSql.cpu?.postgres_cores.toFixed(2)}, box busy ${sameSql.cpu?.box_busy_cores.toFixed(2)} cores`);
  // Diagnosis only (not in smoke, to keep it short).
  const groupSql = args.smoke ? null : await raw("group-commit", args.duration);
  if (groupSql) log(`  raw group-commit: ${groupSql.ops_per_s.toFixed(0)} ops/s, ${groupSql.per_statement?.toFixed(2)} per statement, p50 ${groupSql.latency_ms.p50.toFixed(2)} ms; postgres ${groupSql.cpu?.postgres_cores.toFixed(2)}, box busy ${groupSql.cpu?.box_busy_cores.toFixed(2)} cores`);

  const oursRps = median(ours.map((r) => r.rps));
  const rawRps = median(baseline.map((b) => b.ops_per_s));
  const sum = (k: string) => ours.reduce((n, r) => n + (r.counts[k] ?? 0), 0);
  const repeatOk = sum("repeat_ok");
  const repeatBad = sum("repeat_mismatch");
  c.eq("repeated URLs answered with another code", repeatBad, 0);
  c.atLeast("repeated URLs answered with their first code", repeatOk, 1);
  c.eq("unique URLs wrongly deduplicated", sum("unexpected_dedupe"), 0);
  c.eq("failed creates (non-2xx + socket errors)", ours.reduce((n, r) => n + r.failed, 0), 0);
  c.eq("raw baseline errors", baseline.reduce((n, b) => n + b.errors, 0), 0);
  if (!args.smoke) c.target(`creates/s / raw INSERTs/s (${stack.durable ? "durable cluster, fsync on" : "--fast cluster, fsync off"})`, oursRps / rawRps, ">=", 1.0);
  const statements = backend.reduce((n, b) => n + b.create_batches.statements, 0);
  const batched = backend.reduce((n, b) => n + b.create_batches.creates, 0);
  const mid = medianRun(ours);

  return {
    scenario: "creates",
    seconds: (performance.now() - started) / 1000,
    settings: { tool: ctx.load.tool, connections, raw_concurrency: connections, duration_s: args.duration, rounds: args.rounds, repeat_share: REPEAT_SHARE, repeats: repeatCount, db_pool_size: 8, raw_pool_size_per_primary: 8, durable: stack.durable, cluster: stack.clusterName },
    summary: {
      cluster: stack.durable ? "durable (fsync on)" : "--fast (fsync off)",
      ours_creates_per_s: round(oursRps, 0),
      raw_inserts_per_s: round(rawRps, 0),
      ratio_to_raw_insert: round(oursRps / rawRps, 3),
      round_ratios: ours.map((o, i) => round(o.rps / baseline[i]!.ops_per_s, 3)).join(" "),
      raw_create_sql_per_s: round(sameSql.ops_per_s, 0),
      ratio_to_raw_create_sql: round(oursRps / sameSql.ops_per_s, 3),
      raw_group_commit_per_s: groupSql ? round(groupSql.ops_per_s, 0) : null,
      raw_group_commit_per_statement: groupSql ? round(groupSql.per_statement ?? Number.NaN, 2) : null,
      raw_group_commit_p50_ms: groupSql ? round(groupSql.latency_ms.p50, 3) : null,
      ratio_to_raw_group_commit: groupSql ? round(oursRps / groupSql.ops_per_s, 3) : null,
      ours_p50_ms: round(mid.latencyMs.p50, 3),
      ours_p95_ms: round(mid.latencyMs.p95, 3),
      ours_p99_ms: round(mid.latencyMs.p99, 3),
      ours_cpu_us_per_create: round(median(ours.map((r) => r.cpu?.server_us_per_req ?? Number.NaN)), 1),
      ours_server_cores: round(median(ours.map((r) => r.cpu?.server_cores ?? Number.NaN)), 2),
      ours_postgres_cores: medianCpu(ours, "postgres_cores"),
      ours_box_busy_cores: medianCpu(ours, "box_busy_cores"),
      raw_p50_ms: round(median(baseline.map((b) => b.latency_ms.p50)), 3),
      raw_p99_ms: round(median(baseline.map((b) => b.latency_ms.p99)), 3),
      raw_postgres_cores: round(median(baseline.map((b) => b.cpu?.postgres_cores ?? Number.NaN)), 2),
      raw_box_busy_cores: round(median(baseline.map((b) => b.cpu?.box_busy_cores ?? Number.NaN)), 2),
      repeat_same_code_rate: repeatOk + repeatBad === 0 ? null : round(repeatOk / (repeatOk + repeatBad), 4),
      created: sum("created"),
      backend_writes: backend.reduce((n, b) => n + b.writes, 0),
      create_statements: statements,
      creates_per_statement: statements === 0 ? null : round(batched / statements, 2),
      backend_write_errors: backend.reduce((n, b) => n + b.write_errors, 0),
      other_processes_cores_max: foreignMax([...ours, ...baseline, sameSql, ...(groupSql ? [groupSql] : [])]),
    },
    runs: { ours, baseline, sameSql, groupSql, backend },
    checks: c.checks,
    targets: c.targets,
    notes: [
      `raw INSERT baseline: one \`insert into links\` per op, round-robin over the ${stack.shards.length} primaries, postgres.js pool 8 per primary (the app's DB_POOL_SIZE), ${connections} concurrent, no HTTP.`,
      "raw create-sql: the statement a create of one new URL issues (url_index claim + link insert in one CTE on one shard), one per op, same pools and concurrency; the app instead groups concurrent creates for one shard into one multi-row statement (createLinksWithIndex; creates_per_statement), and writes a new link's Redis entry after it (no Redis read: the statement dedupes).",
      "raw group-commit: the app's write path alone (CreateBatcher + createLinksWithIndex on a PgNode built like the app's, pool 8 per primary, one statement in flight per shard), same concurrency, new URLs only, no HTTP, Redis or id source: what the group-commit design does by itself.",
      `cluster: ${stack.durable ? "fsync on (PostgreSQL defaults: fsync, synchronous_commit, full_page_writes), its own cluster and instance(s) unless creates ran alone" : "the --fast cluster (fsync off): no durability cost on either side"}.`,
    ],
  };
}
