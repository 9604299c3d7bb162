/**
 * Redirect load: GET /<code> at a constant arrival rate over a hot/cold code set, with a warm-up
 * scenario first and the thresholds applied to the measured scenario only (tag phase:measured).
 *
 *   k6 run -e BASE_URL=http://127.0.0.1:8080 -e RATE=2000 -e DURATION=30s bench/k6/redirects.ts
 *
 * __ENV: BASE_URL, RATE (req/s), DURATION, WARMUP, HOT_SHARE (0.9), HIT_RATE_FLOOR (0.9),
 * P99_MS (50), CODES_FILE or CODES (else setup() creates HOT+COLD codes), EXECUTOR
 * ("arrival", default; "vus" = closed loop with VUS virtual users, to find the maximum rate),
 * VUS, SUMMARY_JSON (handleSummary writes the data there).
 */
import { check } from "k6";
import http from "k6/http";
import { Counter, Rate, Trend } from "k6/metrics";
import type { Options, Scenario } from "k6/options";
import { BASE_URL, codesFromEnv, createCodes, env, header, num, pickCode, summaryOutputs, TREND_STATS, type CodeSet, type SummaryData } from "./common.ts";

const RATE = num("RATE", 500);
const DURATION = env("DURATION", "30s");
const WARMUP = env("WARMUP", "5s");
const HOT_SHARE = num("HOT_SHARE", 0.9);
const HIT_RATE_FLOOR = num("HIT_RATE_FLOOR", 0.9);
const P99_MS = num("P99_MS", 50);
const EXECUTOR = env("EXECUTOR", "arrival");
const VUS = num("VUS", 64);
const GIVEN = codesFromEnv();

/** Ratio of x-cache: HIT among answered redirects (the backend's own verdict, per response). */
const cacheHit = new Rate("cache_hit");
/** One counter per x-source; tagged with x-shard. */
const fromRedis = new Counter("source_redis");
const fromReplica = new Counter("source_replica");
const fromPrimary = new Counter("source_primary");
const fromOther = new Counter("source_other");
const redirectMs = new Trend("redirect_duration", true);

function scenario(phase: "warmup" | "measured", duration: string, startTime: string): Scenario {
  const base = { startTime, tags: { phase }, gracefulStop: "5s" };
  if (EXECUTOR === "vus") return { ...base, executor: "constant-vus", vus: VUS, duration };
  const vus = Math.max(10, Math.ceil(RATE / 100));
  return { ...base, executor: "constant-arrival-rate", rate: RATE, timeUnit: "1s", duration, preAllocatedVUs: vus, maxVUs: vus * 4 };
}

export const options: Options = {
  scenarios: { warmup: scenario("warmup", WARMUP, "0s"), measured: scenario("measured", DURATION, WARMUP) },
  // A redirect is the answer: never follow it.
  maxRedirects: 0,
  discardResponseBodies: true,
  summaryTrendStats: TREND_STATS,
  thresholds: {
    // 302 counts as success (setResponseCallback below), so any failed request breaks this.
    http_req_failed: ["rate==0"],
    [`cache_hit{phase:measured}`]: [`rate>=${HIT_RATE_FLOOR}`],
    [`http_req_duration{phase:measured}`]: [`p(99)<${P99_MS}`],
    dropped_iterations: ["count==0"],
    checks: ["rate==1"],
    // Declared so the summary carries the measured-phase figures the runner reports.
    [`http_reqs{phase:measured}`]: ["count>0"],
    [`redirect_duration{phase:measured}`]: ["p(50)>=0"],
  },
};

http.setResponseCallback(http.expectedStatuses(302));

export function setup(): CodeSet {
  return GIVEN ?? createCodes(num("HOT", 100), num("COLD", 1000), "redirects");
}

export default function (codes: CodeSet): void {
  const res = http.get(`${BASE_URL}/${pickCode(codes, HOT_SHARE)}`, { redirects: 0, tags: { name: "GET /:code" } });
  const cache = header(res.headers, "x-cache");
  const source = header(res.headers, "x-source") ?? "none";
  const tags = { shard: header(res.headers, "x-shard") ?? "?" };
  check(res, {
    "302 with a location": (r) => r.status === 302 && (header(r.headers, "location") ?? "") !== "",
    "x-cache is HIT or MISS": () => cache === "HIT" || cache === "MISS",
  });
  if (res.status === 302) {
    cacheHit.add(cache === "HIT");
    redirectMs.add(res.timings.duration);
  }
  if (source === "redis") fromRedis.add(1, tags);
  else if (source === "replica") fromReplica.add(1, tags);
  else if (source === "primary") fromPrimary.add(1, tags);
  else fromOther.add(1, tags);
}

export function handleSummary(data: SummaryData) {
  return summaryOutputs(data, "redirects");
}
