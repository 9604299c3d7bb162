/**
 * Create load: POST /create with a unique URL per iteration plus a share of repeated URLs.
 * A repeat must answer 200 with created:false and the code the URL got first.
 *
 *   k6 run -e BASE_URL=http://127.0.0.1:8080 -e RATE=300 -e DURATION=30s bench/k6/creates.ts
 *
 * __ENV: BASE_URL, RATE, DURATION, REPEAT_SHARE (0.1), REPEATS (how many URLs setup() creates to
 * repeat, 50), REPEATS_FILE (lines "<code> <long_url>", instead of creating them), EXECUTOR
 * ("arrival" | "vus"), VUS, P99_MS, RUN_ID, SUMMARY_JSON.
 */
import { check } from "k6";
import exec from "k6/execution";
import http from "k6/http";
import { Counter, Rate } from "k6/metrics";
import type { Options, Scenario } from "k6/options";
import { BASE_URL, env, header, num, summaryOutputs, TREND_STATS, type SummaryData } from "./common.ts";

const RATE = num("RATE", 200);
const DURATION = env("DURATION", "30s");
const REPEAT_SHARE = num("REPEAT_SHARE", 0.1);
const EXECUTOR = env("EXECUTOR", "arrival");
const VUS = num("VUS", 32);
const P99_MS = num("P99_MS", 500);
const RUN_ID = env("RUN_ID", String(Date.now()));
const REPEATS_FILE = env("REPEATS_FILE", "");
const GIVEN_REPEATS: Repeat[] | null = REPEATS_FILE === "" ? null : parseRepeats(open(REPEATS_FILE));

interface Repeat {
  code: string;
  url: string;
}

/** A repeated URL answered with the code it got first (1) or another/new one (0). */
const repeatSameCode = new Rate("repeat_same_code");
/** A unique URL answered 201 created:true (1), or was wrongly deduplicated (0). */
const uniqueCreated = new Rate("unique_created");
const createdPerShard = new Counter("created_per_shard");

const JSON_HEADERS = { "Content-Type": "application/json" };

function scenario(): Scenario {
  if (EXECUTOR === "vus") return { executor: "constant-vus", vus: VUS, duration: DURATION, gracefulStop: "5s" };
  const vus = Math.max(10, Math.ceil(RATE / 20));
  return { executor: "constant-arrival-rate", rate: RATE, timeUnit: "1s", duration: DURATION, preAllocatedVUs: vus, maxVUs: vus * 4, gracefulStop: "5s" };
}

export const options: Options = {
  scenarios: { creates: scenario() },
  summaryTrendStats: TREND_STATS,
  thresholds: {
    http_req_failed: ["rate==0"],
    repeat_same_code: ["rate==1"],
    unique_created: ["rate==1"],
    checks: ["rate==1"],
    dropped_iterations: ["count==0"],
    [`http_req_duration{name:POST /create}`]: [`p(99)<${P99_MS}`],
    // Declared so the summary carries the figures of the create requests alone (not setup's).
    [`http_reqs{name:POST /create}`]: ["count>0"],
  },
};

http.setResponseCallback(http.expectedStatuses(200, 201));

function parseRepeats(text: string): Repeat[] {
  return text
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .filter((p): p is [string, string] => p.length >= 2 && p[0] !== "")
    .map(([code, url]) => ({ code, url }));
}

export function setup(): Repeat[] {
  if (GIVEN_REPEATS) return GIVEN_REPEATS;
  const out: Repeat[] = [];
  for (let i = 0; i < num("REPEATS", 50); i++) {
    const url = `https://k6.bench.example/repeat/${RUN_ID}/${i}`;
    const res = http.post(`${BASE_URL}/create`, JSON.stringify({ url }), { headers: JSON_HEADERS, tags: { name: "setup-create" } });
    const body = res.json() as { short_code?: string; long_url?: string };
    if (!body.short_code || !body.long_url) throw new Error(`setup: POST /create answered ${res.status}`);
    out.push({ code: body.short_code, url: body.long_url });
  }
  return out;
}

export default function (repeats: Repeat[]): void {
  const repeat = repeats.length > 0 && Math.random() < REPEAT_SHARE ? repeats[Math.floor(Math.random() * repeats.length)] : undefined;
  const url = repeat?.url ?? `https://k6.bench.example/u/${RUN_ID}/${exec.vu.idInTest}/${exec.vu.iterationInScenario}`;
  const res = http.post(`${BASE_URL}/create`, JSON.stringify({ url }), { headers: JSON_HEADERS, tags: { name: "POST /create" } });
  const body = (res.status === 200 || res.status === 201 ? res.json() : {}) as { short_code?: string; created?: boolean };
  if (repeat) {
    const same = res.status === 200 && body.created === false && body.short_code === repeat.code;
    repeatSameCode.add(same);
    check(res, { "repeat: 200, same code": () => same });
  } else {
    const created = res.status === 201 && body.created === true && typeof body.short_code === "string";
    uniqueCreated.add(created);
    check(res, { "unique: 201 with a code": () => created });
    if (created) createdPerShard.add(1, { shard: header(res.headers, "x-shard") ?? "?" });
  }
}

export function handleSummary(data: SummaryData) {
  return summaryOutputs(data, "creates");
}
