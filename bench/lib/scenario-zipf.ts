import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Redis from "ioredis";
import postgres from "postgres";
import { loopDelayFigures, measured, type BackendDelta } from "./backend-metrics";
import { Checks } from "./checks";
import { clicksSettled, clickTotals, sumFigures } from "./clicks";
import { instanceUrls, type Ctx, type ScenarioReport } from "./context";
import { redirectsMax } from "./load";
import { cpuNote, cpuRun, foreignMax, hitRate, medianCpu, median, medianRun, round, sourceCount, type LoadResult } from "./load-result";
import { seedDirect } from "./reshard-seed";
import type { ShardUrls } from "./stack";

/** The TTL the app gives `l:<code>` (CACHE_TTL_SECONDS default): the seeded keys look like a read filled them. */
const SEED_TTL_SECONDS = 86_400;

type Dist = "zipf" | "uniform";

/**
 * Redirects over a large link set (--links, default 1,000,000; smoke 20,000) seeded straight
 * into the shards (links rows by ring owner, multi-row INSERTs) and into each code's shard Redis
 * (`l:<code>`, pipelined SETs), so ours and the floor both find every code cached in Redis. Codes
 * are picked by rank, Zipf(s) distributed (bench/wrk/redirects.lua DIST=zipf: a CDF over all ranks
 * precomputed in Lua, binary search per request) and then uniformly (cold-ish for ours: its
 * in-process hot-link cache holds HOT_CACHE_SIZE codes); ours vs the floor alternating, medians.
 * Ours runs as deployed (events, metrics, clicks on; no dashboard client here).
 */
export async function zipfScenario(ctx: Ctx): Promise<ScenarioReport> {
  const { args, stack, log } = ctx;
  const started = performance.now();
  const c = new Checks("zipf");
  if (ctx.load.tool !== "wrk") throw new Error("zipf: needs wrk (bench/wrk/redirects.lua DIST=zipf); run with --tool wrk");
  const n = args.links;
  const s = args.zipfS;

  const redisBefore = await redisMemory(stack.shards);
  const tSeed = performance.now();
  const codes: string[] = [];
  await seedDirect(stack.shards, stack.shards.map((_, i) => i), n, `z${process.pid}`, {
    purpose: "zipf",
    index: false,
    redisTtlSeconds: SEED_TTL_SECONDS,
    collect: false,
    onChunk: (chunk) => {
      for (const l of chunk) codes.push(l.code);
    },
  });
  const seedSeconds = (performance.now() - tSeed) / 1000;
  // Ranks in random order of ids, so the popular codes are not the oldest ones.
  for (let i = codes.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [codes[i], codes[j]] = [codes[j]!, codes[i]!];
  }
  const codesFile = join(ctx.workDir, "codes-zipf.txt");
  writeFileSync(codesFile, `${codes.join("\n")}\n`);
  const redisAfter = await redisMemory(stack.shards);
  const keys = await redisKeys(stack.shards);
  const tables = await tableSizes(stack.shards);
  log(`zipf: seeded ${codes.length} links (PostgreSQL links rows on their ring owners + l:<code> in their shard's Redis) in ${seedSeconds.toFixed(1)} s (${round(codes.length / seedSeconds, 0)} links/s); Redis used_memory ${mb(redisBefore)} -> ${mb(redisAfter)} MB, ${keys} keys; links tables ${mb(tables)} MB`);
  codes.length = 0; // the file has them; the runner holds no million strings through the runs

  // The earlier scenarios' last clicks must be in before the count starts: it sums every link's.
  await clicksSettled(instanceUrls(ctx));
  const dbAtStart = await clickTotals(stack.shards);
  const base = { codesFile, hotShare: 1, connections: args.connections, zipfS: s };
  // Smoke: one second per run and no floor warm-up (correctness only; keeps `all --smoke` short).
  const duration = args.smoke ? 1 : args.duration;
  const runs: Record<Dist, { floor: LoadResult[]; ours: LoadResult[]; backend: BackendDelta[] }> = { zipf: { floor: [], ours: [], backend: [] }, uniform: { floor: [], ours: [], backend: [] } };
  const warmups: LoadResult[] = [];
  // Warm-up: JIT, pools, and ours' hot-link cache filled by the Zipf head.
  warmups.push(await redirectsMax(ctx.load, { ...base, dist: "zipf", label: "warmup-ours", url: stack.oursUrl, durationS: args.smoke ? 1 : 3 }));
  if (!args.smoke) await redirectsMax(ctx.load, { ...base, dist: "zipf", label: "warmup-floor", url: stack.floorUrl, durationS: 1 });
  for (const dist of ["zipf", "uniform"] as const) {
    for (let r = 0; r < args.rounds; r++) {
      for (const who of r % 2 === 0 ? ["floor", "ours"] : ["ours", "floor"]) {
        const o = { ...base, dist, durationS: duration };
        let last: LoadResult;
        if (who === "floor") {
          last = await cpuRun(stack.floorPids, stack.redisPids(), () => redirectsMax(ctx.load, { ...o, label: `${dist}-floor-${r + 1}`, url: stack.floorUrl }));
          runs[dist].floor.push(last);
        } else {
          const m = await measured(instanceUrls(ctx), () => cpuRun(stack.oursPids, stack.redisPids(), () => redirectsMax(ctx.load, { ...o, label: `${dist}-ours-${r + 1}`, url: stack.oursUrl })));
          last = m.result;
          runs[dist].ours.push(last);
          runs[dist].backend.push(m.backend);
        }
        const mem = sourceCount(last, (_sh, src) => src === "memory");
        log(`  ${last.label}: ${last.rps.toFixed(0)} req/s, p99 ${last.latencyMs.p99.toFixed(2)} ms, hit ${(hitRate(last) ?? 0).toFixed(4)}, memory ${(mem / Math.max(1, last.requests)).toFixed(3)}, failed ${last.failed}, ${cpuNote(last)}`);
      }
    }
  }
  const rss = stack.oursPids.map(rssMb);
  const settled = await clicksSettled(instanceUrls(ctx));
  const figures = sumFigures(settled.figures);
  const dbEnd = await clickTotals(stack.shards);
  const wrkOurs = [...warmups, ...runs.zipf.ours, ...runs.uniform.ours];
  const served = wrkOurs.reduce((x, r) => x + (r.counts.s3xx ?? 0), 0);
  const clicks = dbEnd.total - dbAtStart.total;
  const inFlightBound = wrkOurs.length * args.connections;

  const fig = (dist: Dist) => {
    const { floor, ours } = runs[dist];
    const oursRps = median(ours.map((x) => x.rps));
    const floorRps = median(floor.map((x) => x.rps));
    const mid = medianRun(ours);
    const midFloor = medianRun(floor);
    const total = ours.reduce((x, r) => x + r.requests, 0);
    const loopDelay = loopDelayFigures(runs[dist].backend);
    return {
      oursRps,
      floorRps,
      ratio: oursRps / floorRps,
      out: {
        [`${dist}_ours_rps`]: round(oursRps, 0),
        [`${dist}_floor_rps`]: round(floorRps, 0),
        [`${dist}_ratio_to_floor`]: round(oursRps / floorRps, 3),
        [`${dist}_round_ratios`]: ours.map((o, i) => round(o.rps / floor[i]!.rps, 3)).join(" "),
        [`${dist}_ours_p50_p99_ms`]: `${round(mid.latencyMs.p50, 3)} / ${round(mid.latencyMs.p99, 3)}`,
        [`${dist}_floor_p50_p99_ms`]: `${round(midFloor.latencyMs.p50, 3)} / ${round(midFloor.latencyMs.p99, 3)}`,
        [`${dist}_ours_cpu_us_per_req`]: round(median(ours.map((x) => x.cpu?.server_us_per_req ?? Number.NaN)), 1),
        [`${dist}_floor_cpu_us_per_req`]: round(median(floor.map((x) => x.cpu?.server_us_per_req ?? Number.NaN)), 1),
        [`${dist}_cores_ours_server_redis_postgres_box`]: `${medianCpu(ours, "server_cores")} / ${medianCpu(ours, "redis_cores")} / ${medianCpu(ours, "postgres_cores")} / ${medianCpu(ours, "box_busy_cores")}`,
        [`${dist}_cores_floor_server_redis_postgres_box`]: `${medianCpu(floor, "server_cores")} / ${medianCpu(floor, "redis_cores")} / ${medianCpu(floor, "postgres_cores")} / ${medianCpu(floor, "box_busy_cores")}`,
        [`${dist}_ours_memory_share`]: round(ours.reduce((x, r) => x + sourceCount(r, (_sh, src) => src === "memory"), 0) / Math.max(1, total), 4),
        [`${dist}_ours_loop_delay_p99_at_most_ms`]: loopDelay.ours_loop_delay_p99_at_most_ms ?? null,
        [`${dist}_ours_loop_delay_over_10ms`]: loopDelay.ours_loop_delay_over_10ms ?? null,
        [`${dist}_ours_hit_rate`]: round(hitRate({ counts: { hit: ours.reduce((x, r) => x + (r.counts.hit ?? 0), 0), miss: ours.reduce((x, r) => x + (r.counts.miss ?? 0), 0) } }) ?? Number.NaN, 4),
      },
    };
  };
  const zipf = fig("zipf");
  const uniform = fig("uniform");

  const all = [...runs.zipf.ours, ...runs.uniform.ours, ...runs.zipf.floor, ...runs.uniform.floor];
  c.eq("links seeded", readFileSync(codesFile, "utf8").split("\n").filter(Boolean).length, n);
  c.eq("failed redirects (non-3xx + socket errors), ours and floor", all.reduce((x, r) => x + r.failed, 0), 0);
  c.atLeast("cache hit rate, ours (memory or Redis; every code is in Redis)", hitRate({ counts: { hit: sumCount(runs.zipf.ours, "hit") + sumCount(runs.uniform.ours, "hit"), miss: sumCount(runs.zipf.ours, "miss") + sumCount(runs.uniform.ours, "miss") } }), args.hitRateFloor);
  c.check("clicks flushed after the runs (counted = flushed + lost on every instance)", settled.settled, JSON.stringify(figures), "settled within 15 s");
  c.eq("clicks lost (shorten_clicks{state=lost})", figures.lost, 0);
  c.check("clicks minus 302s received (wrk leaves requests in flight)", clicks >= served && clicks - served <= inFlightBound, clicks - served, `0..${inFlightBound} (${wrkOurs.length} wrk runs x ${args.connections} connections)`);
  if (!args.smoke) {
    c.target(`Zipf(s=${s}) over ${n} links, ours / floor req/s`, zipf.ratio, ">=", 0.9);
  }

  return {
    scenario: "zipf",
    seconds: (performance.now() - started) / 1000,
    settings: { tool: ctx.load.tool, links: n, zipf_s: s, connections: args.connections, duration_s: duration, rounds: args.rounds, instances: args.instances, haproxy: args.haproxy, redis_ttl_s: SEED_TTL_SECONDS, url_index_rows: false },
    summary: {
      links: n,
      seed_seconds: round(seedSeconds, 1),
      seed_links_per_s: round(n / seedSeconds, 0),
      redis_used_memory_mb: `${mb(redisBefore)} -> ${mb(redisAfter)} (${keys} keys over ${stack.shards.length} shards)`,
      links_tables_mb: mb(tables),
      ...zipf.out,
      ...uniform.out,
      ours_rss_mb_after: rss.join(" "),
      other_processes_cores_max: foreignMax(all),
      clicks_counted_flushed_lost: `${figures.counted} / ${figures.flushed} / ${figures.lost}`,
      clicks_in_db: clicks,
      clicks_served_302: served,
    },
    runs: { warmups, ...runs, clicks: { dbAtStart, dbEnd, settled } },
    checks: c.checks,
    targets: c.targets,
    notes: [
      `seed: bench/lib/reshard-seed.ts seedDirect (links rows only, no url_index rows: redirects never read them), ${n} codes of 7 characters from id 2^40 up, each on its ring owner's primary (multi-row INSERTs of 5,000, chunks of 50,000, shards in parallel, then VACUUM ANALYZE), and SET l:<code> EX ${SEED_TTL_SECONDS} on the owner's Redis (pipelines of 5,000).`,
      `load: wrk -t1 -c${args.connections}, bench/wrk/redirects.lua with DIST=zipf (rank k with probability k^-${s} / H(N); the codes file lists the codes in a random order, line k = rank k) and DIST=uniform; ${duration} s per run, ${args.rounds} round(s) per distribution alternating floor/ours; medians. Ours had no dashboard client connected here.`,
      "floor: bench/baselines/floor-server.ts, one Redis GET per request whatever the distribution. Ours answers from its in-process hot-link cache (HOT_CACHE_SIZE 10,000 entries, 5 s TTL by default) when it can (memory_share), else from Redis.",
      "clicks: every 302 ours served is counted and flushed to link_clicks; with a million codes the flush batches carry many distinct codes. wrk ends with requests in flight, so the clicks may exceed the 302s wrk read by at most connections per run.",
    ],
  };
}

function sumCount(runs: readonly LoadResult[], key: string): number {
  return runs.reduce((x, r) => x + (r.counts[key] ?? 0), 0);
}

const mb = (bytes: number) => round(bytes / 2 ** 20, 1);

async function withRedis<T>(shards: readonly ShardUrls[], fn: (r: Redis) => Promise<T>): Promise<T[]> {
  return Promise.all(
    shards.map(async (s) => {
      const r = new Redis(s.redis, { maxRetriesPerRequest: 1 });
      try {
        return await fn(r);
      } finally {
        r.disconnect();
      }
    }),
  );
}

/** used_memory summed over the shards' Redis servers, bytes. */
async function redisMemory(shards: readonly ShardUrls[]): Promise<number> {
  const each = await withRedis(shards, async (r) => Number(/used_memory:(\d+)/.exec(await r.info("memory"))?.[1] ?? 0));
  return each.reduce((a, b) => a + b, 0);
}

async function redisKeys(shards: readonly ShardUrls[]): Promise<number> {
  const each = await withRedis(shards, (r) => r.dbsize());
  return each.reduce((a, b) => a + b, 0);
}

/** pg_total_relation_size('links') summed over the primaries, bytes. */
async function tableSizes(shards: readonly ShardUrls[]): Promise<number> {
  const each = await Promise.all(
    shards.map(async (s) => {
      const sql = postgres(s.primary, { max: 1, onnotice: () => {} });
      try {
        const [row] = await sql<{ b: string }[]>`select pg_total_relation_size('links')::text as b`;
        return Number(row?.b ?? 0);
      } finally {
        await sql.end({ timeout: 2 });
      }
    }),
  );
  return each.reduce((a, b) => a + b, 0);
}

function rssMb(pid: number): number {
  try {
    const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? Number.NaN);
    return round(kb / 1024, 0);
  } catch {
    return Number.NaN;
  }
}
