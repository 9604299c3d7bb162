import { join } from "node:path";
import { measured, type BackendDelta } from "./backend-metrics";
import { Checks } from "./checks";
import { instanceUrls, type Ctx, type ScenarioReport } from "./context";
import { connectWsClient } from "./dashboard-client";
import type { WsClientReport } from "./ws-client";
import { redirectsFixed, redirectsMax } from "./load";
import { cpuRun, hitRate, median, medianRun, round, type LoadResult } from "./load-result";
import { recache, seedRedirectCodes, writeCodesFile } from "./seed";

export const HOT_SHARE = 0.9;

/**
 * Cached redirects, ours vs the floor (bare Bun.serve + one Redis GET + 302), same tool, same
 * connections and duration, alternating floor/ours (ABBA order across rounds) with the medians
 * compared. Ours runs as deployed: events and metrics on, a dashboard client (events,metrics)
 * connected. Then fixed-rate runs at half of our measured maximum for p99.
 */
export async function redirectsScenario(ctx: Ctx): Promise<ScenarioReport> {
  const { args, stack, log } = ctx;
  const started = performance.now();
  const c = new Checks("redirects");
  const [hot, cold] = args.smoke ? [50, 300] : [200, 3000];
  const codes = await seedRedirectCodes(stack.oursUrl, stack.shards, hot, cold, `r${process.pid}`);
  const codesFile = writeCodesFile(join(ctx.workDir, "codes-redirects.txt"), codes);
  ctx.shared.redirectCodes = codes;
  ctx.shared.codesFile = codesFile;
  log(`redirects: seeded ${hot} hot + ${cold} cold codes (cold evicted from Redis)`);

  const dashboard = await connectWsClient(stack.oursUrl, "events,metrics");
  const base = { codesFile, hotShare: HOT_SHARE, connections: args.connections };
  const floor: LoadResult[] = [];
  const ours: LoadResult[] = [];
  const backend: BackendDelta[] = [];
  const fixedOurs: LoadResult[] = [];
  const fixedFloor: LoadResult[] = [];
  let dash: WsClientReport;
  try {
    // Warm-up: JIT on both servers, pools open, cold codes start refilling (the "warm" phase).
    await redirectsMax(ctx.load, { ...base, label: "warmup-ours", url: stack.oursUrl, durationS: args.smoke ? 1 : 3 });
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
        log(`  ${last.label}: ${last.rps.toFixed(0)} req/s, p99 ${last.latencyMs.p99.toFixed(2)} ms, hit ${(hitRate(last) ?? 0).toFixed(4)}, failed ${last.failed}, server CPU ${last.cpu?.server_us_per_req.toFixed(1)} µs/req (${last.cpu?.server_cores.toFixed(2)} cores)`);
      }
    }
  } finally {
    dash = await dashboard.stop();
  }
  // Fixed rate (open loop) at half of our median maximum, ours and the floor alternating; the
  // dashboard client is off here so its CPU on this shared box does not become everyone's tail.
  const rate = args.rate ?? (args.smoke ? 200 : Math.max(100, Math.round(median(ours.map((r) => r.rps)) / 2)));
  for (let r = 0; r < args.rounds; r++) {
    for (const who of r % 2 === 0 ? ["ours", "floor"] : ["floor", "ours"]) {
      const [list, url, pids] = who === "ours" ? [fixedOurs, stack.oursUrl, stack.oursPids] : [fixedFloor, stack.floorUrl, stack.floorPids];
      const res = await cpuRun(pids, stack.redisPids(), () => redirectsFixed(ctx.load, { ...base, label: `fixed-${who}-${r + 1}`, url, durationS: args.duration, connections: 64, rate }));
      list.push(res);
      log(`  ${res.label} at ${rate}/s: p50 ${res.latencyMs.p50.toFixed(2)} p95 ${res.latencyMs.p95.toFixed(2)} p99 ${res.latencyMs.p99.toFixed(2)} ms, failed ${res.failed}, dropped ${res.dropped ?? 0}`);
    }
  }
  const fixedP = (list: LoadResult[], k: "p50" | "p95" | "p99") => median(list.map((x) => x.latencyMs[k]));

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
  if (!args.smoke) {
    c.target("cached redirects / floor req/s", ratio, ">=", 0.85);
    c.target("p99 ms of cached redirects at half of max rate", fixedP(fixedOurs, "p99"), "<", 5);
  }

  return {
    scenario: "redirects",
    seconds: (performance.now() - started) / 1000,
    settings: { tool: ctx.load.tool, connections: args.connections, duration_s: args.duration, rounds: args.rounds, hot, cold, hot_share: HOT_SHARE, instances: args.instances, haproxy: args.haproxy, fixed_rate: rate, dashboard_client: "events,metrics" },
    summary: {
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
      event_drops: backend.reduce((n, b) => n + b.event_drops, 0),
    },
    runs: { floor, ours, backend, fixedOurs, fixedFloor, dashboard: dash },
    checks: c.checks,
    targets: c.targets,
    notes: [
      `floor: bench/baselines/floor-server.ts (Bun.serve + GET l:<code> on the code's shard through a Redis client built like the app's (createRedisNode: auto-pipelining etc.), no policy + 302), ${ctx.load.tool === "wrk" ? "wrk -t1" : "k6"} with ${args.connections} connections, ${args.duration} s per run, ${args.rounds} round(s) alternating; medians.`,
      `fixed rate: ${ctx.load.tool === "wrk" ? "bench/lib/open-loop.ts (open loop; latency from the tick a request was due)" : "k6 constant-arrival-rate"} at ${rate} req/s = ${args.rate ? "--rate" : "half of our median max"}, ${args.rounds} round(s) alternating with the floor at the same rate, medians; dashboard client disconnected for these runs.`,
    ],
  };
}
