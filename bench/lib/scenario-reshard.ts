import { join } from "node:path";
import { clusterAddShard, clusterEnvVars, type ClusterState } from "../../scripts/cluster/index";
import { startMixedLoad, type MixedLoad } from "../../harness/reshard-fleet";
import { startServer } from "../../harness/server-process";
import { Checks } from "./checks";
import { onCleanup } from "./cleanup";
import type { Ctx, ScenarioReport } from "./context";
import { cpuRun, round, type LoadResult } from "./load-result";
import { redirectsMax } from "./load";
import { moverFigures, phaseWindows, startMover, type MoverFigures, type MoverRun } from "./reshard-mover";
import { checkpointTotals, placement, seedDirect, type SeededLink } from "./reshard-seed";
import { createLinks, recache, writeCodesFile, type SeededCode } from "./seed";
import { INSTANCE_ENV, type ShardUrls } from "./stack";

/**
 * Instances converge on a new ring fast (catalog polled every 250 ms, silent for 2.5 s = dead),
 * as in the CI smoke (harness/reshard-fleet.ts). Given to the instances when they are
 * rolled onto the new node lists (before that, no ring changes) and to the mover.
 */
export const RESHARD_ENV = { TOPOLOGY_POLL_MS: "250", TOPOLOGY_LIVE_MS: "2500" } as const;

const START_MEMBERS = [0, 1, 2];
const END_MEMBERS = [0, 2, 3];
const DRAINED = 1;

/** One wrk run of a consecutive series; t0/t1 bracket the wrk process (performance.now()). */
interface Slice {
  window: string;
  t0: number;
  t1: number;
  result: LoadResult;
}

interface MigrationResult {
  kind: "add" | "drain";
  exitCode: number;
  figures: MoverFigures;
  before: Slice[];
  during: Slice[];
  checkpoints: Record<string, { scanned: number; moved: number; done: number; tracks: number }>;
  topology: TopologyBody | null;
  moverSeconds: number;
  output: string[];
}

interface TopologyBody {
  version: number;
  phase: string;
  members: number[];
  target: number[] | null;
  instances: Array<{ instance: string; version: number; live: boolean }>;
  verify: { differences: number; caught_up: number; pairs: Array<{ count: number; source_checksum: string; target_checksum: string }> } | null;
  cleanup: { deleted: number; kept: number } | null;
}

/**
 * Online re-sharding under load, same-run ratios. Seeds N links straight into the 3 shards (plus
 * 1,000 through the API). Then, with wrk redirect load over 1,000 hot seeded codes, a create
 * trickle and Location-checked reads of random seeded codes running throughout: a 4th shard is
 * started and the instances rolled onto it one by one behind HAProxy; once they are warm,
 * redirect throughput before; `bun scripts/reshard.ts add`; throughput again on the 4 shards;
 * `drain 1`. Redirect load runs as consecutive short wrk runs ("slices"), each classified by the
 * mover phase it fell in, so "during the copy" is the slices wholly inside the copy. Afterwards
 * every seeded and every acknowledged link is resolved, 1,000 seeded URLs re-created, and every
 * row checked against its owner under ring 0,2,3.
 */
export async function reshardScenario(ctx: Ctx): Promise<ScenarioReport> {
  const { args, stack, log } = ctx;
  const started = performance.now();
  const rel = (t: number) => round((t - started) / 1000, 2);
  const c = new Checks("reshard");
  if (!stack.haproxy || stack.instances.length < 2) throw new Error("reshard needs 2+ instances behind HAProxy (bun run bench reshard: 3 by default)");
  const smoke = args.smoke;
  const apiLinks = smoke ? 200 : 1000;
  const hotCount = smoke ? 200 : 1000;
  const recreateCount = smoke ? 200 : 1000;
  const sliceS = smoke ? 1 : 2;
  const beforeS = smoke ? Math.max(3, args.duration) : args.duration;
  const warmS = smoke ? 2 : 12;
  const moverArgs = ["--rate", String(args.moverRate), "--batch", String(args.moverBatch)];
  const settings = {
    tool: ctx.load.tool,
    instances: stack.instances.length,
    haproxy: true,
    links_direct: args.links,
    links_api: apiLinks,
    hot_codes: hotCount,
    connections: args.connections,
    slice_s: sliceS,
    before_s: beforeS,
    warmup_after_restart_s: warmS,
    mover: `--rate ${args.moverRate} --batch ${args.moverBatch}`,
    instance_env: RESHARD_ENV,
    trickle: "2 create loops (40 ms pause), 2 Location-checked readers over all seeded codes (10 ms pause)",
  };

  // Seed: most links straight into the shards, a sample through the API (real codes, real dedupe rows).
  const tSeed = performance.now();
  const direct = await seedDirect(stack.shards, START_MEMBERS, args.links, `p${process.pid}`);
  const viaApi = (await createLinks(stack.oursUrl, Array.from({ length: apiLinks }, (_, i) => `https://bench.example/reshard-api/p${process.pid}/${i}`), 16)).map((x) => ({ code: x.code, longUrl: x.longUrl, shard: x.shard }));
  const seeded: SeededLink[] = [...direct, ...viaApi];
  const seedSeconds = (performance.now() - tSeed) / 1000;
  log(`reshard: seeded ${direct.length} links with multi-row INSERTs + ${viaApi.length} through POST /create in ${seedSeconds.toFixed(1)} s`);

  // The hot set: spread over the seeded range, cached on the owners as a first read would.
  const stride = Math.max(1, Math.floor(direct.length / hotCount));
  const hot: SeededCode[] = Array.from({ length: Math.min(hotCount, direct.length) }, (_, i) => ({ ...direct[i * stride]!, hot: true }));
  const codesFile = writeCodesFile(join(ctx.workDir, "codes-reshard.txt"), hot);
  await recache(stack.shards, hot);

  const slices: Slice[] = [];
  const runSlice = async (window: string, withCpu: boolean): Promise<Slice> => {
    const t0 = performance.now();
    const load = () => redirectsMax(ctx.load, { label: `${window}-${slices.length + 1}`, url: stack.oursUrl, codesFile, hotShare: 1, connections: args.connections, durationS: sliceS });
    const result = withCpu ? await cpuRun(stack.oursPids, stack.redisPids(), load) : await load();
    const s = { window, t0, t1: performance.now(), result };
    slices.push(s);
    return s;
  };
  /** Slices back to back for `seconds`. */
  const sliceFor = async (window: string, seconds: number): Promise<Slice[]> => {
    const out: Slice[] = [];
    for (let k = 0; k < Math.max(1, Math.round(seconds / sliceS)); k++) out.push(await runSlice(window, true));
    return out;
  };
  /** Slices back to back until `work` settles (the last one ends up to one slice later). */
  const sliceWhile = async <T>(window: string, work: Promise<T>, withCpu: boolean): Promise<{ value: T; slices: Slice[] }> => {
    let settled = false;
    const watched = work.finally(() => void (settled = true));
    const out: Slice[] = [];
    const loop = (async () => {
      while (!settled) out.push(await runSlice(window, withCpu));
    })();
    const [value] = await Promise.all([watched, loop]);
    return { value, slices: out };
  };

  const traffic: MixedLoad = startMixedLoad(
    stack.oursUrl,
    seeded.map((s) => [s.code, s.longUrl] as const),
    { readers: 2, writers: 2, pauseMs: 10, maxMs: 60 * 60_000 },
  );
  const stopTraffic = onCleanup("reshard traffic", () => traffic.stop());
  let state: ClusterState = stack.state();
  const migrations: MigrationResult[] = [];
  let restartMs: number[] = [];
  let restartSlices: Slice[] = [];
  try {
    await runSlice("warmup", false);
    // The operator's add, part 1: start shard 3's nodes, roll the instances onto the new node
    // lists, under load. The ring does not use shard 3 until the mover says so.
    const tAdd = performance.now();
    state = await clusterAddShard({ name: stack.clusterName, log: () => {} });
    const shard3 = shardUrls(state)[3]!;
    (stack.shards as ShardUrls[]).push(shard3);
    Object.assign(stack.env, clusterEnvVars(state));
    log(`  shard 3 up in ${((performance.now() - tAdd) / 1000).toFixed(1)} s; rolling ${stack.instances.length} instances onto 4 configured shards`);
    const rolled = await sliceWhile("rolling-restart", rollingRestart(ctx, hot[0]!.code), false);
    restartMs = rolled.value;
    restartSlices = rolled.slices;
    log(`  rolling restart: ${restartMs.map((ms) => `${(ms / 1000).toFixed(1)} s`).join(", ")}; ${fmtFailed(restartSlices)}`);
    // The restarted processes warm up (JIT, pools) before the baseline, so the baseline and the
    // copy are measured on the same warm processes and only the mover differs.
    const warm = await sliceFor("warmup-after-restart", warmS);
    log(`  warm-up after restart: ${warm.map((x) => x.result.rps.toFixed(0)).join(" ")} req/s`);
    const beforeAdd = await sliceFor("before-add", beforeS);
    log(`  before add: ${fmtRps(beforeAdd)} req/s over ${beforeAdd.length} slice(s) of ${sliceS} s`);

    const moverEnv = { ...clusterEnvVars(state), ...RESHARD_ENV, LOG_LEVEL: "warn" };
    const migrate = async (kind: "add" | "drain", before: Slice[]): Promise<MigrationResult> => {
      const mover = startMover(kind === "add" ? ["add", ...moverArgs] : ["drain", String(DRAINED), ...moverArgs], moverEnv);
      const { value: exitCode, slices: during } = await sliceWhile(`${kind}`, mover.done, true);
      const figures = moverFigures(mover);
      const endT = performance.now();
      const topology = await fetchTopology(stack.oursUrl);
      const checkpoints = figures.migrationId ? await checkpointTotals(stack.shards[0]!.primary, figures.migrationId).catch(() => ({})) : {};
      const m: MigrationResult = { kind, exitCode, figures, before, during, checkpoints, topology, moverSeconds: (endT - mover.startedAt) / 1000, output: mover.lines.map((l) => `${rel(l.t).toFixed(2)}s ${l.line}`) };
      for (const w of phaseWindows(figures.phases, endT)) for (const s of during) if (s.t0 >= w.start && s.t1 <= w.end) s.window = `${kind}:${w.phase}`;
      if (exitCode !== 0) log(`  reshard ${kind} exited ${exitCode}:\n${mover.lines.slice(-20).map((l) => l.line).join("\n")}\n${lastProgress(mover)}`);
      const k = kindFigures(m);
      log(`  ${kind}: copy ${k.written} row(s) in ${k.copyS?.toFixed(1) ?? "?"} s = ${k.rowsPerS?.toFixed(0) ?? "?"} rows/s; redirects before ${k.beforeRps.toFixed(0)} req/s, during copy ${k.copyRps?.toFixed(0) ?? "–"} req/s (${k.copySlices} slice(s)) = ${k.ratio?.toFixed(3) ?? "–"}; verify ${figures.verify?.differences ?? "?"} difference(s); mover ${m.moverSeconds.toFixed(1)} s; ${fmtFailed(during)}`);
      return m;
    };
    migrations.push(await migrate("add", beforeAdd));
    const beforeDrain = await sliceFor("before-drain", beforeS);
    log(`  before drain (4 shards): ${fmtRps(beforeDrain)} req/s`);
    migrations.push(await migrate("drain", beforeDrain));
    await sliceFor("after", Math.min(beforeS, 4));
  } finally {
    await stopTraffic();
  }

  // Afterwards: every link resolves (through HAProxy), dedupe holds, rows sit on their owners.
  const tCheck = performance.now();
  const acknowledged = [...traffic.acknowledged];
  const resolved = await resolveAll(stack.oursUrl, [...seeded.map((s) => [s.code, s.longUrl] as const), ...acknowledged], 64);
  const seededBad = resolved.slice(0, seeded.length).filter((r) => r !== null);
  const ackBad = resolved.slice(seeded.length).filter((r) => r !== null);
  const sample = Array.from({ length: Math.min(recreateCount, seeded.length) }, (_, i) => seeded[Math.floor((i * seeded.length) / recreateCount)]!);
  const again = await createLinks(stack.oursUrl, sample.map((s) => s.longUrl), 16).catch((error: Error) => error);
  const recreateWrong = again instanceof Error ? [again.message] : again.flatMap((x, i) => (x.code === sample[i]!.code && x.status === 200 ? [] : [`${sample[i]!.longUrl}: ${sample[i]!.code} → ${x.code} (${x.status})`]));
  const place = await placement(stack.shards, END_MEMBERS);
  const finalTopology = await fetchTopology(stack.oursUrl);
  const checkSeconds = (performance.now() - tCheck) / 1000;
  log(`  after: ${seeded.length + acknowledged.length} links resolved in ${checkSeconds.toFixed(1)} s (incl. re-create and placement)`);

  const all = slices;
  const failedRedirects = all.reduce((n, s) => n + s.result.failed, 0);
  const notFound = all.reduce((n, s) => n + (s.result.status["404"] ?? 0), 0);
  const add = migrations.find((m) => m.kind === "add");
  const drain = migrations.find((m) => m.kind === "drain");
  const fa = add ? kindFigures(add) : null;
  const fd = drain ? kindFigures(drain) : null;

  c.eq("failed redirects under wrk load (non-3xx + socket errors, every window)", failedRedirects, 0);
  c.eq("wrong or failed Location-checked redirects of random seeded codes during the run", traffic.redirectFailures.length, 0);
  c.eq("seeded codes answering 404 afterwards", seededBad.filter((r) => r.startsWith("404")).length, 0);
  c.check("seeded codes redirecting to their URL afterwards", seededBad.length === 0, `${seeded.length - seededBad.length}/${seeded.length}`, "all");
  c.check("creates acknowledged during the run that resolve afterwards", acknowledged.length > 0 && ackBad.length === 0, `${acknowledged.length - ackBad.length}/${acknowledged.length}`, "all, >= 1");
  c.eq("creates not acknowledged during the run (trickle)", traffic.createFailures, 0);
  c.check("re-created seeded URLs answered 200 with their code", recreateWrong.length === 0, `${sample.length - recreateWrong.length}/${sample.length}`, "all");
  c.eq("rows not on their owner under ring 0,2,3 (all 4 primaries)", place.misplacedCount, 0);
  c.eq("codes in links on more than one shard", place.duplicateCodes, 0);
  c.eq(`rows left on drained shard ${DRAINED}`, place.rows[DRAINED] ?? -1, 0);
  for (const kind of ["add", "drain"] as const) {
    const m = migrations.find((x) => x.kind === kind);
    c.eq(`reshard ${kind} exit code`, m?.exitCode ?? -1, 0);
    c.check(`verify differences (${kind}), mover output / GET /api/topology`, m?.figures.verify?.differences === 0 && m.topology?.verify?.differences === 0, `${m?.figures.verify?.differences ?? "?"} / ${m?.topology?.verify?.differences ?? "?"}`, "0 / 0");
  }
  c.check("ring at the end (GET /api/topology)", finalTopology?.phase === "stable" && finalTopology.members.join(",") === END_MEMBERS.join(","), `${finalTopology?.phase} ${finalTopology?.members.join(",")}`, `stable ${END_MEMBERS.join(",")}`);
  if (!smoke) {
    c.target("redirect req/s during the copy / before it (add)", fa?.ratio ?? null, ">=", 0.7);
    c.target("redirect req/s during the copy / before it (drain)", fd?.ratio ?? null, ">=", 0.7);
  }

  const migrationSummary = (prefix: string, f: ReturnType<typeof kindFigures> | null, m: MigrationResult | undefined) => ({
    [`${prefix}_rows_moved_per_s`]: f?.rowsPerS === null || f?.rowsPerS === undefined ? null : round(f.rowsPerS, 0),
    [`${prefix}_rows_moved`]: f?.written ?? null,
    [`${prefix}_copy_line_rows_written`]: f?.reportedWritten ?? null,
    [`${prefix}_copy_s`]: f?.copyS === null || f?.copyS === undefined ? null : round(f.copyS, 2),
    [`${prefix}_rows_scanned_per_s`]: f?.scannedPerS === null || f?.scannedPerS === undefined ? null : round(f.scannedPerS, 0),
    [`${prefix}_redirect_rps_before`]: f ? round(f.beforeRps, 0) : null,
    [`${prefix}_redirect_rps_copy`]: f?.copyRps === null || f?.copyRps === undefined ? null : round(f.copyRps, 0),
    [`${prefix}_redirect_ratio_copy`]: f?.ratio === null || f?.ratio === undefined ? null : round(f.ratio, 3),
    [`${prefix}_copy_slices`]: f?.copySlices ?? null,
    [`${prefix}_redirect_rps_mover`]: f?.moverRps === null || f?.moverRps === undefined ? null : round(f.moverRps, 0),
    [`${prefix}_server_us_per_req_before`]: f?.cpuBefore === null || f?.cpuBefore === undefined ? null : round(f.cpuBefore, 1),
    [`${prefix}_server_us_per_req_copy`]: f?.cpuCopy === null || f?.cpuCopy === undefined ? null : round(f.cpuCopy, 1),
    [`${prefix}_mover_cores_copy`]: m?.figures.copy?.moverCores === null || m?.figures.copy?.moverCores === undefined ? null : round(m.figures.copy.moverCores, 2),
    [`${prefix}_verify_differences`]: m?.figures.verify?.differences ?? null,
    [`${prefix}_cleanup_deleted`]: m?.figures.cleanup?.deleted ?? null,
    [`${prefix}_mover_s`]: m ? round(m.moverSeconds, 1) : null,
  });
  const summary: Record<string, number | string | null> = {
    links_seeded: seeded.length,
    seed_s: round(seedSeconds, 1),
    ...migrationSummary("add", fa, add),
    ...migrationSummary("drain", fd, drain),
    redirects: all.reduce((n, s) => n + s.result.requests, 0),
    failed_redirects: failedRedirects,
    redirect_404s: notFound,
    rolling_restart_s: round(restartMs.reduce((a, b) => a + b, 0) / 1000, 1),
    checked_redirects: traffic.redirects,
    creates_acknowledged: acknowledged.length,
    create_failures: traffic.createFailures,
    seeded_resolved_after: seeded.length - seededBad.length,
    rows_per_shard_after: place.rows.join(" "),
    final_check_s: round(checkSeconds, 1),
  };
  log(
    `reshard: add ${summary.add_rows_moved_per_s ?? "–"} rows/s moved (${summary.add_rows_moved ?? "–"} in ${summary.add_copy_s ?? "–"} s), redirects ${summary.add_redirect_rps_before ?? "–"} → ${summary.add_redirect_rps_copy ?? "–"} req/s during copy = ${summary.add_redirect_ratio_copy ?? "–"}; ` +
      `drain ${summary.drain_rows_moved_per_s ?? "–"} rows/s moved (${summary.drain_rows_moved ?? "–"} in ${summary.drain_copy_s ?? "–"} s), redirects ${summary.drain_redirect_rps_before ?? "–"} → ${summary.drain_redirect_rps_copy ?? "–"} req/s = ${summary.drain_redirect_ratio_copy ?? "–"}; ` +
      `${failedRedirects} failed redirects; ${round((performance.now() - started) / 1000, 0)} s`,
  );

  return {
    scenario: "reshard",
    seconds: (performance.now() - started) / 1000,
    settings,
    summary,
    runs: {
      slices: all.map((s) => ({ window: s.window, t0_s: rel(s.t0), t1_s: rel(s.t1), rps: round(s.result.rps, 0), requests: s.result.requests, failed: s.result.failed, status: s.result.status, p99_ms: round(s.result.latencyMs.p99, 2), hit: s.result.counts.hit ?? 0, miss: s.result.counts.miss ?? 0, server_us_per_req: s.result.cpu ? round(s.result.cpu.server_us_per_req, 1) : null })),
      migrations: migrations.map((m) => ({ kind: m.kind, exit_code: m.exitCode, mover_s: round(m.moverSeconds, 1), migration_id: m.figures.migrationId, phases: m.figures.phases.map((p) => `v${p.version} ${p.phase} @${rel(p.t)}s`), copy: m.figures.copy && { ...m.figures.copy, start: rel(m.figures.copy.start), end: rel(m.figures.copy.end) }, verify: m.figures.verify, cleanup: m.figures.cleanup, checkpoints: m.checkpoints, topology: m.topology, output: m.output })),
      restart_ms: restartMs.map((x) => Math.round(x)),
      redirect_failures: traffic.redirectFailures.slice(0, 20),
      seeded_wrong_after: seededBad.slice(0, 20),
      acknowledged_wrong_after: ackBad.slice(0, 20),
      recreate_wrong: recreateWrong.slice(0, 20),
      misplaced: place.misplaced,
      final_topology: finalTopology,
    },
    checks: c.checks,
    targets: c.targets,
    notes: [
      `Seeded ${direct.length} links straight into the shards (multi-row INSERTs on each primary: \`links\` on the code's owner, \`url_index\` on the URL's owner under ring 0,1,2; ids from 2^40, 7-character codes no instance generates) and ${viaApi.length} through POST /create. Redirect load: ${ctx.load.tool} over ${hot.length} hot seeded codes (cached on their owners first), ${args.connections} connections, through HAProxy, as consecutive ${sliceS} s runs; a run counts for a phase only when it lies wholly inside it.`,
      "Rows moved per second: rows the copy put on their new owners (sum of `moved` in the catalog's copy checkpoints, reshard_checkpoints on shard 0; verify's `moved row(s)` and cleanup's deletions agree with it) over the time from the mover's `ring vN: copy` line to its `copy: N row(s) written` line (includes the instances' acknowledgement of the copy phase). The mover throttles scanned rows (--rate counts every row it reads, moved or not), so rows moved/s is about the moved share of --rate; rows_scanned_per_s is the scan rate itself.",
      "`*_copy_line_rows_written` is the N of the mover's own `copy: N row(s) written` line. It comes out below the checkpoints' count even though verify finds every row on its owner with 0 caught up: in src/topology/mover/copy-step.ts, `written += await insertRows(...)` runs in parallel (groups in Promise.all, source shards in parallel in runScan) and `+=` reads `written` before the await, so concurrent additions overwrite each other. The figure is a reporting undercount, not lost rows.",
      `Ratio: redirect req/s in the runs wholly inside the copy over the runs just before that migration (${beforeS} s, same run, same load): before add on ring 0,1,2, before drain on ring 0,1,2,3. A create trickle and Location-checked reads of random seeded codes (mostly cache misses, so they exercise the old-owner fallback mid-migration) run throughout, before and during.`,
      `Add: shard 3's nodes started with \`clusterAddShard\`, then each instance SIGTERMed and started again on its port with the new DATABASE_NODES/REDIS_NODES (and ${Object.entries(RESHARD_ENV).map(([k, v]) => `${k}=${v}`).join(" ")}), the next one only once HAProxy routes to it; wrk load ran throughout (window rolling-restart). Then ${warmS} s of warm-up load on the restarted processes before the add's baseline: a freshly started Bun instance needs ~10 s of load to reach its steady CPU per request, and measured cold the baseline and the copy would compare JIT warm-up, not the mover. The shared-machine caveat applies doubly here: the mover, 4 shards × 3 nodes, the instances, HAProxy and wrk all compete for the same cores.`,
    ],
    markdown: windowTable(all, migrations),
  };
}

/** Each instance in turn: SIGTERM, start on the same port with the new node lists, wait until HAProxy routes to it. */
async function rollingRestart(ctx: Ctx, probeCode: string): Promise<number[]> {
  const { stack } = ctx;
  const took: number[] = [];
  for (let i = 0; i < stack.instances.length; i++) {
    const t0 = performance.now();
    const old = stack.instances[i]!;
    await old.stop("SIGTERM");
    const fresh = await startServer({ ...stack.env, ...INSTANCE_ENV, ...RESHARD_ENV, INSTANCE_ID: String(i), TRUSTED_PROXIES: "127.0.0.1" }, { port: old.port });
    onCleanup(`instance ${i} (restarted)`, () => fresh.stop());
    stack.instances[i] = fresh;
    stack.oursPids[i] = fresh.proc.pid;
    await inRotation(stack.oursUrl, probeCode, String(i), 20_000);
    took.push(performance.now() - t0);
  }
  return took;
}

/** HAProxy balances round robin: once it marks the instance UP, a few requests reach it (x-instance). */
async function inRotation(url: string, code: string, instance: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (let k = 0; k < 6; k++) {
      const res = await fetch(`${url}/${code}`, { redirect: "manual", signal: AbortSignal.timeout(2000) }).catch(() => null);
      if (res) await res.arrayBuffer();
      if (res?.headers.get("x-instance") === instance) return;
    }
    await Bun.sleep(100);
  }
  throw new Error(`HAProxy did not route to restarted instance ${instance} within ${timeoutMs} ms`);
}

/** null per link that redirects to its URL, else what it answered. */
async function resolveAll(url: string, links: ReadonlyArray<readonly [string, string]>, concurrency: number): Promise<Array<string | null>> {
  const out: Array<string | null> = new Array(links.length).fill(null);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < links.length) {
        const i = next++;
        const [code, longUrl] = links[i]!;
        try {
          const res = await fetch(`${url}/${code}`, { redirect: "manual", signal: AbortSignal.timeout(10_000) });
          await res.arrayBuffer();
          if (res.status !== 302 || res.headers.get("location") !== longUrl) out[i] = `${res.status} ${code} → ${res.headers.get("location")}`;
        } catch (error) {
          out[i] = `error ${code}: ${(error as Error).message}`;
        }
      }
    }),
  );
  return out;
}

async function fetchTopology(url: string): Promise<TopologyBody | null> {
  try {
    const res = await fetch(`${url}/api/topology`, { signal: AbortSignal.timeout(5000) });
    return res.status === 200 ? ((await res.json()) as TopologyBody) : null;
  } catch {
    return null;
  }
}

function shardUrls(state: ClusterState): ShardUrls[] {
  const url = (shard: number, role: string) => state.nodes.find((n) => n.shard === shard && n.role === role)!.url;
  return Array.from({ length: state.shards }, (_, i) => ({ redis: url(i, "redis"), primary: url(i, "primary"), replica: url(i, "replica") }));
}

/** Completed requests per second over runs (each run's own measured duration). */
function rps(slices: readonly Slice[]): number | null {
  const seconds = slices.reduce((n, s) => n + s.result.seconds, 0);
  return slices.length === 0 || seconds === 0 ? null : slices.reduce((n, s) => n + s.result.requests, 0) / seconds;
}

function cpuPerReq(slices: readonly Slice[]): number | null {
  const withCpu = slices.filter((s) => s.result.cpu);
  const reqs = withCpu.reduce((n, s) => n + s.result.requests, 0);
  return reqs === 0 ? null : (1000 * withCpu.reduce((n, s) => n + s.result.cpu!.server_ms, 0)) / reqs;
}

function kindFigures(m: MigrationResult) {
  const copy = m.figures.copy;
  const inCopy = copy ? m.during.filter((s) => s.t0 >= copy.start && s.t1 <= copy.end) : [];
  const beforeRps = rps(m.before) ?? Number.NaN;
  const copyRps = rps(inCopy);
  const scanned = m.checkpoints.copy?.scanned ?? null;
  // The catalog's copy checkpoints count every misplaced row the copy inserted on its new owner
  // (ON CONFLICT DO NOTHING: a row already there counts too); verify's "moved row(s)" and
  // cleanup's deletions match it. The mover's own `copy: N row(s) written` line is kept as
  // reported, see the note.
  const moved = m.checkpoints.copy?.moved ?? copy?.written ?? null;
  return {
    written: moved,
    reportedWritten: copy?.written ?? null,
    copyS: copy?.seconds ?? null,
    rowsPerS: copy && copy.seconds > 0 && moved !== null ? moved / copy.seconds : null,
    scannedPerS: copy && copy.seconds > 0 && scanned !== null ? scanned / copy.seconds : null,
    beforeRps,
    copyRps,
    copySlices: inCopy.length,
    ratio: copyRps === null ? null : copyRps / beforeRps,
    moverRps: rps(m.during),
    cpuBefore: cpuPerReq(m.before),
    cpuCopy: cpuPerReq(inCopy),
  };
}

function fmtRps(slices: readonly Slice[]): string {
  return rps(slices)?.toFixed(0) ?? "–";
}

function fmtFailed(slices: readonly Slice[]): string {
  return `${slices.reduce((n, s) => n + s.result.failed, 0)} failed of ${slices.reduce((n, s) => n + s.result.requests, 0)} redirects`;
}

function lastProgress(run: MoverRun): string {
  return run.progress.slice(-8).map((l) => l.line).join("\n");
}

/** Redirect figures per window (phase of each migration, before/after, the rolling restart). */
function windowTable(slices: readonly Slice[], migrations: readonly MigrationResult[]): string {
  const order: string[] = [];
  for (const s of slices) if (!order.includes(s.window)) order.push(s.window);
  const L = ["| window | wrk runs | redirects | req/s | failed | p99 ms (worst run) | server CPU µs/req |", "| --- | --- | --- | --- | --- | --- | --- |"];
  for (const w of order) {
    const list = slices.filter((s) => s.window === w);
    const cpu = cpuPerReq(list);
    L.push(`| ${w} | ${list.length} | ${list.reduce((n, s) => n + s.result.requests, 0)} | ${rps(list)?.toFixed(0) ?? "–"} | ${list.reduce((n, s) => n + s.result.failed, 0)} | ${Math.max(...list.map((s) => s.result.latencyMs.p99)).toFixed(1)} | ${cpu === null ? "–" : cpu.toFixed(1)} |`);
  }
  L.push("", "Windows `add`/`drain` without a phase: runs that straddled a phase change.", "");
  for (const m of migrations) {
    L.push(`Mover \`${m.kind}\` (exit ${m.exitCode}, ${m.moverSeconds.toFixed(1)} s), stdout with arrival times since the scenario started:`, "", "```", ...m.output, "```", "");
  }
  return L.join("\n");
}
