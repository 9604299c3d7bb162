import { join } from "node:path";
import { loopDelayFigures, measured, type BackendDelta } from "./backend-metrics";
import { Checks } from "./checks";
import { instanceUrls, type Ctx, type ScenarioReport } from "./context";
import { connectWsClient, DASHBOARD_TOPICS } from "./dashboard-client";
import type { WsClientReport } from "./ws-client";
import { redirectsFixed, redirectsMax } from "./load";
import { cpuNote, cpuRun, foreignMax, hitRate, medianCpu, median, medianRun, round, sourceCount, type LoadResult } from "./load-result";
import { recache, seedRedirectCodes, writeCodesFile } from "./seed";
import { clicksSettled, clickTotals, sumFigures } from "./clicks";

/** Warm-up: this share to the hot codes, the rest to the cold ones (which miss, then refill). */
export const WARMUP_HOT_SHARE = 0.9;
/** Measured runs (max and fixed rate): every request to one of the hot codes. */
export const HOT_SHARE = 1;

/**
 * Cached redirects over the hot codes (1,000; smoke 50), ours vs the floor (bare Bun.serve + one
 * Redis GET + 302), same tool, same connections and duration, alternating floor/ours (ABBA order
 * across rounds) with the medians compared. Ours runs as deployed: events, metrics and clicks on,
 * a dashboard client connected (the dashboard's topics: the sampled feed, metrics, topology). Then fixed-rate runs at half of our measured
 * maximum for p99. Then the clicks check: the instances are stopped gracefully (SIGTERM) and
 * restarted, and the clicks in link_clicks must equal the 302s the fixed-rate runs received
 * (the open-loop generator waits for every answer; wrk does not, see clicksCheck).
 */
export async function redirectsScenario(ctx: Ctx): Promise<ScenarioReport> {
  const { args, stack, log } = ctx;
  const started = performance.now();
  const c = new Checks("redirects");
  const [hot, cold] = args.smoke ? [50, 300] : [1000, 3000];
  // Any earlier scenario's last clicks must be in before the count starts: it sums every link's.
  await clicksSettled(instanceUrls(ctx));
  const dbAtStart = await clickTotals(stack.shards);
  const codes = await seedRedirectCodes(stack.oursUrl, stack.shards, hot, cold, `r${process.pid}`);
  const codesFile = writeCodesFile(join(ctx.workDir, "codes-redirects.txt"), codes);
  ctx.shared.redirectCodes = codes;
  ctx.shared.codesFile = codesFile;
  log(`redirects: seeded ${hot} hot + ${cold} cold codes (cold evicted from Redis)`);

  const dashboard = await connectWsClient(stack.oursUrl, DASHBOARD_TOPICS);
  const base = { codesFile, hotShare: HOT_SHARE, connections: args.connections };
  const warmups: LoadResult[] = [];
  const floor: LoadResult[] = [];
  const ours: LoadResult[] = [];
  const backend: BackendDelta[] = [];
  const fixedOurs: LoadResult[] = [];
  const fixedFloor: LoadResult[] = [];
  let dash: WsClientReport;
  try {
    // Warm-up: JIT on both servers, pools open, cold codes start refilling (the "warm" phase).
    warmups.push(await redirectsMax(ctx.load, { ...base, hotShare: WARMUP_HOT_SHARE, label: "warmup-ours", url: stack.oursUrl, durationS: args.smoke ? 1 : 3 }));
    // "Warm" = every code cached, so ours and the floor serve identical answers (the floor has no
    // miss path: an uncached code would be a cheap 404 for it). The misses and refills of the
    // cold codes happened in the warm-up above, through the app's own path.
    await recache(stack.shards, codes);
    await redirectsMax(ctx.load, { ...base, label: "warmup-floor", url: stack.floorUrl, durationS: 1 });
    for (let r = 0; r < args.rounds; r++) {
      for (const who of r % 2 === 0 ? ["floor", "ours"] : ["ours", "floor"]) {
        if (who === "floor") {
          floor.push(await cpuRun(stack.floorPids, stack.redisPids(), () => redirectsMax(ctx.load, { ...base, label: `floor-${r + 1}`, url: stack.floorUrl, durationS: args.duration })));
        } else {
          const m = await measured(instanceUrls(ctx), () => cpuRun(stack.oursPids, stack.redisPids(), () => redirectsMax(ctx.load, { ...base, label: `ours-${r + 1}`, url: stack.oursUrl, durationS: args.duration })));
          ours.push(m.result);
          backend.push(m.backend);
        }
        const last = who === "floor" ? floor[floor.length - 1]! : ours[ours.length - 1]!;
        log(`  ${last.label}: ${last.rps.toFixed(0)} req/s, p99 ${last.latencyMs.p99.toFixed(2)} ms, hit ${(hitRate(last) ?? 0).toFixed(4)}, failed ${last.failed}, ${cpuNote(last)}`);
      }
    }
  } finally {
    dash = await dashboard.stop();
  }
  // Clicks so far (wrk runs) all in the database before the fixed-rate runs start: the clicks
  // check counts from here.
  const settledBefore = await clicksSettled(instanceUrls(ctx));
  const dbBefore = await clickTotals(stack.shards, codes.map((x) => x.code));
  // Fixed rate (open loop) at half of our median maximum, ours and the floor alternating; the
  // dashboard client is off here so its CPU on this shared box does not become everyone's tail.
  const rate = args.rate ?? (args.smoke ? 200 : Math.max(100, Math.round(median(ours.map((r) => r.rps)) / 2)));
  for (let r = 0; r < args.rounds; r++) {
    for (const who of r % 2 === 0 ? ["ours", "floor"] : ["floor", "ours"]) {
      const [list, url, pids] = who === "ours" ? [fixedOurs, stack.oursUrl, stack.oursPids] : [fixedFloor, stack.floorUrl, stack.floorPids];
      const res = await cpuRun(pids, stack.redisPids(), () => redirectsFixed(ctx.load, { ...base, label: `fixed-${who}-${r + 1}`, url, durationS: args.duration, connections: 64, rate }));
      list.push(res);
      log(`  ${res.label} at ${rate}/s: p50 ${res.latencyMs.p50.toFixed(2)} p95 ${res.latencyMs.p95.toFixed(2)} p99 ${res.latencyMs.p99.toFixed(2)} ms, failed ${res.failed}, dropped ${res.dropped ?? 0}; ${cpuNote(res)}`);
    }
  }
  const fixedP = (list: LoadResult[], k: "p50" | "p95" | "p99") => median(list.map((x) => x.latencyMs[k]));

  // Clicks: stop the instances gracefully (they flush on SIGTERM), then count what landed.
  const beforeStop = sumFigures((await clicksSettled(instanceUrls(ctx), 3000)).figures);
  const exitCodes = await stack.restartInstances();
  const dbAfter = await clickTotals(stack.shards, codes.map((x) => x.code));
  log(`  instances stopped (SIGTERM, exit ${exitCodes.join(",")}) and restarted`);
  const served302 = (list: readonly LoadResult[]) => list.reduce((n, r) => n + (r.counts.s3xx ?? 0), 0);
  const fixedServed = served302(fixedOurs);
  const fixedClicks = dbAfter.forCodes! - dbBefore.forCodes!;
  // Over the whole scenario, wrk runs included: wrk stops with up to `connections` requests in
  // flight whose 302 it never reads but the server served (and counted), so there the clicks may
  // exceed the 302s received by at most that many per wrk run.
  const wrkRuns = [...warmups, ...ours];
  const allServed = served302(wrkRuns) + fixedServed;
  const allClicks = dbAfter.total - dbAtStart.total;
  const inFlightBound = wrkRuns.length * args.connections;
  log(`  clicks: fixed-rate runs served ${fixedServed} redirects, link_clicks grew by ${fixedClicks}; whole scenario ${allClicks} clicks for ${allServed} 302s received (wrk in flight at stop: at most ${inFlightBound})`);
  const oursRps = median(ours.map((r) => r.rps));
  const floorRps = median(floor.map((r) => r.rps));
  const ratio = oursRps / floorRps;
  const mid = medianRun(ours);
  const midFloor = medianRun(floor);
  const sum = (k: string) => ours.reduce((n, r) => n + (r.counts[k] ?? 0), 0);
  const luaHitRate = sum("hit") + sum("miss") === 0 ? null : sum("hit") / (sum("hit") + sum("miss"));
  const beHits = backend.reduce((n, b) => n + b.reads.hits, 0);
  const beMisses = backend.reduce((n, b) => n + b.reads.misses, 0);

  c.atLeast("cache hit rate once warm (x-cache, measured runs)", luaHitRate, args.hitRateFloor);
  c.eq("failed redirects (non-3xx + socket errors), ours", ours.reduce((n, r) => n + r.failed, 0), 0);
  c.eq("failed redirects, fixed-rate runs", fixedOurs.reduce((n, x) => n + x.failed, 0), 0);
  c.eq("dropped (unsent) requests, fixed-rate runs", fixedOurs.reduce((n, x) => n + (x.dropped ?? 0), 0), 0);
  c.eq("dashboard client: events failing the schema", dash.schema_errors + dash.zod_errors, 0);
  c.atLeast("dashboard client: events received", dash.events, 1);
  if (!args.smoke) c.atMost("p99 (ms) at the fixed rate (median of rounds)", fixedP(fixedOurs, "p99"), args.p99Ms);
  c.check("clicks flushed before the fixed-rate runs (counted = flushed + lost on every instance)", settledBefore.settled, JSON.stringify(sumFigures(settledBefore.figures)), "settled within 15 s");
  c.eq("instances' exit code after SIGTERM (sum)", exitCodes.reduce((a, b) => a + b, 0), 0);
  c.eq("clicks in link_clicks minus 302s served, fixed-rate runs then graceful stop", fixedClicks - fixedServed, 0);
  c.eq("clicks lost (shorten_clicks{state=lost}) before the stop", beforeStop.lost, 0);
  c.check("clicks minus 302s received over the whole scenario (wrk leaves requests in flight)", allClicks >= allServed && allClicks - allServed <= inFlightBound, allClicks - allServed, `0..${inFlightBound} (${wrkRuns.length} wrk runs x ${args.connections} connections)`);
  if (!args.smoke) {
    c.target(`cached redirects over ${hot} hot codes / floor req/s`, ratio, ">=", 1.0);
    c.target("p99 ms of cached redirects at half of max rate", fixedP(fixedOurs, "p99"), "<", 5);
    c.target("clicks in link_clicks / 302s served (fixed-rate runs, after SIGTERM)", fixedServed === 0 ? null : fixedClicks / fixedServed, "==", 1);
  }

  return {
    scenario: "redirects",
    seconds: (performance.now() - started) / 1000,
    settings: { tool: ctx.load.tool, connections: args.connections, duration_s: args.duration, rounds: args.rounds, hot, cold, hot_share: HOT_SHARE, warmup_hot_share: WARMUP_HOT_SHARE, instances: args.instances, haproxy: args.haproxy, fixed_rate: rate, dashboard_client: DASHBOARD_TOPICS },
    summary: {
      hot_codes: hot,
      ours_rps: round(oursRps, 0),
      floor_rps: round(floorRps, 0),
      ratio_to_floor: round(ratio, 3),
      round_ratios: ours.map((o, i) => round(o.rps / floor[i]!.rps, 3)).join(" "),
      ours_p50_ms: round(mid.latencyMs.p50, 3),
      ours_p95_ms: round(mid.latencyMs.p95, 3),
      ours_p99_ms: round(mid.latencyMs.p99, 3),
      ours_cpu_us_per_req: round(median(ours.map((r) => r.cpu?.server_us_per_req ?? Number.NaN)), 1),
      floor_cpu_us_per_req: round(median(floor.map((r) => r.cpu?.server_us_per_req ?? Number.NaN)), 1),
      ours_server_cores: round(median(ours.map((r) => r.cpu?.server_cores ?? Number.NaN)), 2),
      ours_postgres_cores: medianCpu(ours, "postgres_cores"),
      ours_box_busy_cores: medianCpu(ours, "box_busy_cores"),
      floor_box_busy_cores: medianCpu(floor, "box_busy_cores"),
      floor_server_cores: round(median(floor.map((r) => r.cpu?.server_cores ?? Number.NaN)), 2),
      redis_cpu_us_per_req_ours: round(median(ours.map((r) => r.cpu?.redis_us_per_req ?? Number.NaN)), 1),
      redis_cpu_us_per_req_floor: round(median(floor.map((r) => r.cpu?.redis_us_per_req ?? Number.NaN)), 1),
      floor_p50_ms: round(midFloor.latencyMs.p50, 3),
      floor_p99_ms: round(midFloor.latencyMs.p99, 3),
      hit_rate: luaHitRate === null ? null : round(luaHitRate, 4),
      backend_hit_rate: beHits + beMisses === 0 ? null : round(beHits / (beHits + beMisses), 4),
      fixed_rate: rate,
      fixed_rps: round(median(fixedOurs.map((x) => x.rps)), 0),
      fixed_p50_ms: round(fixedP(fixedOurs, "p50"), 3),
      fixed_p95_ms: round(fixedP(fixedOurs, "p95"), 3),
      fixed_p99_ms: round(fixedP(fixedOurs, "p99"), 3),
      fixed_p99_rounds_ms: fixedOurs.map((x) => round(x.latencyMs.p99, 2)).join(" "),
      fixed_p99_from_schedule_ms: round(median(fixedOurs.map((x) => x.counts.scheduled_p99_ms ?? Number.NaN)), 3),
      fixed_server_cores: round(median(fixedOurs.map((x) => x.cpu?.server_cores ?? Number.NaN)), 2),
      floor_fixed_p50_ms: round(fixedP(fixedFloor, "p50"), 3),
      floor_fixed_p99_ms: round(fixedP(fixedFloor, "p99"), 3),
      floor_fixed_p99_rounds_ms: fixedFloor.map((x) => round(x.latencyMs.p99, 2)).join(" "),
      dashboard_events: dash.events,
      dashboard_events_not_sent: dash.skipped,
      event_drops: backend.reduce((n, b) => n + b.event_drops, 0),
      ...loopDelayFigures(backend),
      memory_share: round(sumSources(ours, "memory") / Math.max(1, ours.reduce((n, r) => n + r.requests, 0)), 4),
      other_processes_cores_max: foreignMax([...ours, ...floor, ...fixedOurs, ...fixedFloor]),
      clicks_fixed_served_302: fixedServed,
      clicks_fixed_in_db: fixedClicks,
      clicks_fixed_difference: fixedClicks - fixedServed,
      clicks_scenario_served_302: allServed,
      clicks_scenario_in_db: allClicks,
      clicks_counted_flushed_lost: `${beforeStop.counted} / ${beforeStop.flushed} / ${beforeStop.lost} (before SIGTERM)`,
    },
    runs: { warmups, floor, ours, backend, fixedOurs, fixedFloor, dashboard: dash, clicks: { dbAtStart, dbBefore, dbAfter, settledBefore, beforeStop, exitCodes } },
    checks: c.checks,
    targets: c.targets,
    notes: [
      `floor: bench/baselines/floor-server.ts (Bun.serve + GET l:<code> on the code's shard through a Redis client built like the app's (createRedisNode: auto-pipelining etc.), no policy + 302), ${ctx.load.tool === "wrk" ? "wrk -t1" : "k6"} with ${args.connections} connections, ${args.duration} s per run, ${args.rounds} round(s) alternating; medians.`,
      `fixed rate: ${ctx.load.tool === "wrk" ? "bench/lib/open-loop.ts (open loop; latency from the tick a request was due)" : "k6 constant-arrival-rate"} at ${rate} req/s = ${args.rate ? "--rate" : "half of our median max"}, ${args.rounds} round(s) alternating with the floor at the same rate, medians; dashboard client disconnected for these runs.`,
      `codes: ${hot} hot codes take every measured request (hot_share ${HOT_SHARE}); the ${cold} cold codes are only read in the warm-up (${WARMUP_HOT_SHARE} hot), where they miss and refill. All are in Redis for the measured runs, so the floor answers all of them; ours answers most from its in-process hot-link cache (memory_share).`,
      "clicks: after the wrk runs the runner waits until every instance reports counted = flushed + lost, reads sum(link_clicks.clicks) on every shard for the scenario's codes, runs the fixed-rate runs (the open-loop generator reads every answer before it ends), stops the instances with SIGTERM (the app flushes its clicks before it exits), reads again, and restarts them on the same ports. The growth must equal the 302s those runs received. Over the whole scenario wrk's runs are included, which end with requests in flight (served and counted by the app, never read by wrk), hence a bounded difference there.",
    ],
  };
}

function sumSources(runs: readonly LoadResult[], source: string): number {
  return runs.reduce((n, r) => n + sourceCount(r, (_shard, src) => src === source), 0);
}
