/**
 * Event stream under load: one VU holds a WebSocket on /ws?topics=events,metrics for the whole
 * run, counts events and checks each one's schema (docs/api.md "Event stream protocol"; the same rules as
 * bench/lib/event-check.ts), while another scenario sends redirects (so read events flow).
 *
 *   k6 run -e BASE_URL=http://127.0.0.1:8080 -e RATE=500 -e DURATION=20s -e ADMIN_KEY=shk_... bench/k6/events.ts
 *
 * __ENV: BASE_URL, RATE, DURATION (seconds, e.g. "20"), TOPICS, ADMIN_KEY (sent as the first
 * message when the server asks; not needed with OBSERVABILITY_PUBLIC=true), CODES_FILE|CODES, SUMMARY_JSON.
 */
import { check } from "k6";
import http from "k6/http";
import { Counter, Rate } from "k6/metrics";
import type { Options } from "k6/options";
import { setTimeout } from "k6/timers";
import { WebSocket } from "k6/websockets";
import { BASE_URL, codesFromEnv, createCodes, env, num, pickCode, summaryOutputs, TREND_STATS, type CodeSet, type SummaryData } from "./common.ts";

const RATE = num("RATE", 300);
const DURATION_S = num("DURATION", 20);
const TOPICS = env("TOPICS", "events,metrics");
const ADMIN_KEY = env("ADMIN_KEY", "");
const GIVEN = codesFromEnv();

const eventsReceived = new Counter("events_received");
const readEvents = new Counter("read_events");
const metricsMessages = new Counter("metrics_messages");
const eventSchemaOk = new Rate("event_schema_ok");
const wsErrors = new Counter("ws_errors");

export const options: Options = {
  scenarios: {
    subscriber: { executor: "per-vu-iterations", vus: 1, iterations: 1, maxDuration: `${DURATION_S + 15}s`, exec: "subscriber" },
    load: { executor: "constant-arrival-rate", rate: RATE, timeUnit: "1s", startTime: "1s", duration: `${DURATION_S}s`, preAllocatedVUs: Math.max(10, Math.ceil(RATE / 100)), maxVUs: Math.max(40, Math.ceil(RATE / 20)), exec: "load" },
  },
  maxRedirects: 0,
  discardResponseBodies: true,
  summaryTrendStats: TREND_STATS,
  thresholds: {
    event_schema_ok: ["rate==1"],
    events_received: ["count>0"],
    read_events: ["count>0"],
    metrics_messages: ["count>0"],
    ws_errors: ["count==0"],
    http_req_failed: ["rate==0"],
    dropped_iterations: ["count==0"],
  },
};

http.setResponseCallback(http.expectedStatuses(302));

export function setup(): CodeSet {
  return GIVEN ?? createCodes(num("HOT", 100), 0, "events");
}

/** Null when valid, else the first problem. Mirrors bench/lib/event-check.ts. */
export function eventProblem(e: unknown): string | null {
  if (typeof e !== "object" || e === null) return "not an object";
  const ev = e as { [k: string]: unknown };
  const nonEmpty = (k: string) => typeof ev[k] === "string" && (ev[k] as string).length > 0;
  const strOrNull = (k: string) => ev[k] === null || typeof ev[k] === "string";
  const nonNeg = (k: string) => typeof ev[k] === "number" && (ev[k] as number) >= 0;
  if (!nonEmpty("event_id") || !nonEmpty("node")) return "event_id/node";
  if (["read", "write", "update", "delete", "click"].indexOf(ev.type as string) < 0) return "type";
  if (["OK", "ERROR", "NOT_FOUND", "GONE"].indexOf(ev.status as string) < 0) return "status";
  if (!strOrNull("redis") || !strOrNull("db") || !strOrNull("short_code")) return "redis/db/short_code";
  if (!nonNeg("latency_ms")) return "latency_ms";
  if (ev.type === "click") {
    for (const k of ["country", "referrer", "browser", "os"]) if (!nonEmpty(k)) return k;
    if (["desktop", "mobile", "tablet", "other"].indexOf(ev.device as string) < 0) return "device";
    return typeof ev.bot === "boolean" ? null : "bot";
  }
  if (ev.type !== "read") return null;
  if (ev.cache !== "HIT" && ev.cache !== "MISS") return "cache";
  if (["memory", "redis", "replica", "primary", "none", "error"].indexOf(ev.source as string) < 0) return "source";
  for (const k of ["cache_hit_count", "cache_miss_count", "cache_total"]) if (!nonNeg(k) || Math.floor(ev[k] as number) !== ev[k]) return k;
  for (const k of ["cache_hit_rate", "cache_miss_rate"]) if (!nonNeg(k) || (ev[k] as number) > 1) return k;
  const m = ev.cache_metrics as { [k: string]: unknown } | null;
  if (typeof m !== "object" || m === null) return "cache_metrics";
  for (const k of ["cache_hit_count", "cache_miss_count", "cache_total", "cache_hit_rate", "cache_miss_rate"]) if (m[k] !== ev[k]) return `cache_metrics.${k}`;
  return null;
}

export function subscriber(): void {
  const ws = new WebSocket(`${BASE_URL.replace(/^http/, "ws")}/ws?topics=${TOPICS}`);
  ws.addEventListener("message", (e) => {
    const data = (e as { data?: unknown }).data;
    let msg: { kind?: string; events?: unknown[] };
    try {
      msg = JSON.parse(String(data));
    } catch {
      eventSchemaOk.add(false);
      return;
    }
    if (msg.kind === "auth-required") {
      if (ADMIN_KEY === "") wsErrors.add(1);
      ws.send(JSON.stringify({ auth: ADMIN_KEY }));
      return;
    }
    if (msg.kind === "metrics") metricsMessages.add(1);
    if (msg.kind !== "events" || !Array.isArray(msg.events)) return;
    for (const ev of msg.events) {
      eventsReceived.add(1);
      if ((ev as { type?: string }).type === "read") readEvents.add(1);
      const problem = eventProblem(ev);
      eventSchemaOk.add(problem === null);
      if (problem !== null) check(problem, { "event matches the schema": () => false });
    }
  });
  ws.addEventListener("error", () => wsErrors.add(1));
  ws.addEventListener("open", () => {
    setTimeout(() => ws.close(), (DURATION_S + 3) * 1000);
  });
}

export function load(codes: CodeSet): void {
  const res = http.get(`${BASE_URL}/${pickCode(codes, 1)}`, { redirects: 0, tags: { name: "GET /:code" } });
  check(res, { "302": (r) => r.status === 302 });
}

export function handleSummary(data: SummaryData) {
  return summaryOutputs(data, "events");
}
