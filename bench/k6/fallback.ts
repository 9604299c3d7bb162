/**
 * Fallback under load. k6 cannot kill processes: the runner (bench/run.ts) stops and restarts
 * nodes of shard AFFECTED_SHARD on the timeline below, on the same clock (START_AT, epoch ms).
 * This script sends redirects and creates throughout, tags every answer with the phase it fell
 * in, and checks that:
 *  - no redirect and no create fails, in any phase;
 *  - fallback sources appear only for the affected shard (redis_down: non-redis answers only on
 *    it; replica_down: primary answers only on it; the runner re-caches / evicts the cold codes
 *    at phase starts so other shards have nothing to fall back for, or all miss alike);
 *  - the hit rate recovers once the Redis node is back (phase "recovered").
 *
 * __ENV: BASE_URL, CODES_FILE|CODES, HOT_SHARE (0.8), RATE (redirects/s), CREATE_RATE,
 * PHASES ("warm:3,redis_down:5,..."), START_AT (epoch ms; default: setup time + 1 s),
 * AFFECTED_SHARD (0), HIT_RATE_FLOOR, SUMMARY_JSON.
 */
import { check } from "k6";
import exec from "k6/execution";
import http from "k6/http";
import { Counter, Rate } from "k6/metrics";
import type { Options } from "k6/options";
import { BASE_URL, codesFromEnv, createCodes, env, header, num, pickCode, summaryOutputs, TREND_STATS, type CodeSet, type SummaryData } from "./common.ts";

const RATE = num("RATE", 300);
const CREATE_RATE = num("CREATE_RATE", 20);
const HOT_SHARE = num("HOT_SHARE", 0.8);
const HIT_RATE_FLOOR = num("HIT_RATE_FLOOR", 0.9);
const AFFECTED = env("AFFECTED_SHARD", "0");
const PHASES = env("PHASES", "warm:3,redis_down:5,redis_restored:4,recovered:4,replica_down:5,replica_restored:3,primary_down:5,primary_restored:4")
  .split(",")
  .map((p) => {
    const [name = "", seconds = "0"] = p.split(":");
    return { name, seconds: Number(seconds) };
  });
const TOTAL_S = PHASES.reduce((n, p) => n + p.seconds, 0);
const LEAD_S = 1;
const GIVEN = codesFromEnv();

const redirectOk = new Rate("redirect_ok");
const createOk = new Rate("create_ok");
const cacheHit = new Rate("cache_hit");
/** Every answered redirect, tagged phase/shard/source: the runner reads it per phase. */
const reads = new Counter("reads");
/** Fallback seen on a shard that was not the one with the failed node. Must stay 0. */
const unexpectedFallback = new Counter("unexpected_fallback");
/** Fallback seen on the affected shard (proves the fault was real). */
const affectedFallback = new Counter("affected_fallback");
const createdPerShard = new Counter("created_per_shard");

const phaseThresholds: { [name: string]: string[] } = {};
for (const p of PHASES) {
  phaseThresholds[`redirect_ok{phase:${p.name}}`] = ["rate==1"];
  phaseThresholds[`create_ok{phase:${p.name}}`] = ["rate==1"];
  phaseThresholds[`cache_hit{phase:${p.name}}`] = ["rate>=0"];
  for (const shard of ["0", "1", "2"]) {
    for (const source of ["memory", "redis", "replica", "primary", "none", "error"]) phaseThresholds[`reads{phase:${p.name},shard:${shard},source:${source}}`] = ["count>=0"];
    phaseThresholds[`created_per_shard{phase:${p.name},shard:${shard}}`] = ["count>=0"];
  }
}

export const options: Options = {
  scenarios: {
    redirects: { executor: "constant-arrival-rate", rate: RATE, timeUnit: "1s", duration: `${TOTAL_S + LEAD_S}s`, preAllocatedVUs: Math.max(10, Math.ceil(RATE / 50)), maxVUs: Math.max(40, Math.ceil(RATE / 10)), exec: "redirect", gracefulStop: "5s" },
    creates: { executor: "constant-arrival-rate", rate: CREATE_RATE, timeUnit: "1s", duration: `${TOTAL_S + LEAD_S}s`, preAllocatedVUs: 5, maxVUs: 40, exec: "create", gracefulStop: "5s" },
  },
  maxRedirects: 0,
  summaryTrendStats: TREND_STATS,
  thresholds: {
    ...phaseThresholds,
    redirect_ok: ["rate==1"],
    create_ok: ["rate==1"],
    unexpected_fallback: ["count==0"],
    [`affected_fallback{phase:redis_down}`]: ["count>0"],
    [`affected_fallback{phase:replica_down}`]: ["count>0"],
    [`cache_hit{phase:recovered}`]: [`rate>=${HIT_RATE_FLOOR}`],
    dropped_iterations: ["count==0"],
  },
};

http.setResponseCallback(http.expectedStatuses(200, 201, 302));

interface Data {
  codes: CodeSet;
  startAt: number;
}

export function setup(): Data {
  const startAt = Number(env("START_AT", "0")) || Date.now() + LEAD_S * 1000;
  return { codes: GIVEN ?? createCodes(num("HOT", 100), num("COLD", 1500), "fallback"), startAt };
}

function phaseAt(startAt: number): string {
  let t = (Date.now() - startAt) / 1000;
  if (t < 0) return "lead";
  for (const p of PHASES) {
    if (t < p.seconds) return p.name;
    t -= p.seconds;
  }
  return "after";
}

export function redirect(data: Data): void {
  const phase = phaseAt(data.startAt);
  const res = http.get(`${BASE_URL}/${pickCode(data.codes, HOT_SHARE)}`, { redirects: 0, tags: { name: "GET /:code", phase } });
  const shard = header(res.headers, "x-shard") ?? "?";
  const source = header(res.headers, "x-source") ?? "none";
  const ok = res.status === 302;
  redirectOk.add(ok, { phase });
  check(res, { "redirect answered 302": () => ok });
  if (!ok) return;
  // memory: the instance's hot-link cache, a hit like Redis.
  const cached = source === "redis" || source === "memory";
  cacheHit.add(cached, { phase });
  reads.add(1, { phase, shard, source });
  const fallback = (phase === "redis_down" && !cached) || (phase === "replica_down" && source === "primary");
  const elsewhere = fallback && shard !== AFFECTED;
  unexpectedFallback.add(elsewhere ? 1 : 0, { phase });
  affectedFallback.add(fallback && !elsewhere ? 1 : 0, { phase });
}

export function create(data: Data): void {
  const phase = phaseAt(data.startAt);
  const url = `https://k6.bench.example/fallback/${data.startAt}/${exec.vu.idInTest}/${exec.vu.iterationInScenario}`;
  const res = http.post(`${BASE_URL}/create`, JSON.stringify({ url }), { headers: { "Content-Type": "application/json" }, tags: { name: "POST /create", phase } });
  const ok = res.status === 201;
  createOk.add(ok, { phase });
  check(res, { "create answered 201": () => ok });
  if (ok) createdPerShard.add(1, { phase, shard: header(res.headers, "x-shard") ?? "?" });
}

export function handleSummary(data: SummaryData) {
  return summaryOutputs(data, "fallback");
}
