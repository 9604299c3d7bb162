#!/usr/bin/env bun
/**
 * A dashboard-like WebSocket client, run as its own process (as a browser would be) while load
 * runs: subscribes to /ws?topics=..., parses every message, checks every event's shape
 * (event-check.ts) and a sample against the exact zod contract, and counts. Prints `READY` once
 * subscribed; on SIGTERM prints `BENCH_JSON {...}` and exits. With `--every MS` (a long run such
 * as the soak) it also prints its running totals as a `COUNTS {...}` line every MS and on close,
 * so they can be read without stopping it.
 *
 *   bun bench/lib/ws-client.ts --url ws://127.0.0.1:8080/ws --topics events,metrics [--every 1000]
 */
import { linkEventSchema } from "../../src/events/event-schema";
import { checkEvent } from "./event-check";

export interface WsClientReport {
  connected: boolean;
  subscribed: string[];
  messages: number;
  events: number;
  /** Events the server did not send on the `feed` topic (it sends the latest of each flush). */
  skipped: number;
  reads: number;
  writes: number;
  metrics_messages: number;
  schema_errors: number;
  zod_checked: number;
  zod_errors: number;
  first_errors: string[];
  closed: { code: number; reason: string } | null;
  seconds: number;
}

const ZOD_EVERY = 50;

if (import.meta.main) {
  const arg = (name: string, fallback: string) => {
    const i = Bun.argv.indexOf(`--${name}`);
    return i >= 0 ? (Bun.argv[i + 1] ?? fallback) : fallback;
  };
  const url = `${arg("url", "ws://127.0.0.1:8080/ws")}?topics=${arg("topics", "events,metrics")}`;
  const every = Number(arg("every", "0"));
  const started = performance.now();
  const r: WsClientReport = { connected: false, subscribed: [], messages: 0, events: 0, skipped: 0, reads: 0, writes: 0, metrics_messages: 0, schema_errors: 0, zod_checked: 0, zod_errors: 0, first_errors: [], closed: null, seconds: 0 };
  const problem = (what: string) => {
    r.schema_errors++;
    if (r.first_errors.length < 5) r.first_errors.push(what);
  };
  const printCounts = () => {
    r.seconds = (performance.now() - started) / 1000;
    console.log(`COUNTS ${JSON.stringify(r)}`);
  };
  const timer = every > 0 ? setInterval(printCounts, every) : undefined;
  const ws = new WebSocket(url);
  ws.onopen = () => {
    r.connected = true;
  };
  ws.onmessage = (m) => {
    r.messages++;
    let msg: { kind?: string; events?: unknown[]; topics?: string[]; skipped?: number };
    try {
      msg = JSON.parse(String(m.data));
    } catch {
      problem("message is not JSON");
      return;
    }
    if (msg.kind === "subscribed") {
      r.subscribed = msg.topics ?? [];
      console.log("READY");
    } else if (msg.kind === "metrics") r.metrics_messages++;
    else if (msg.kind === "events") {
      if (!Array.isArray(msg.events)) return problem("events message without an events array");
      r.skipped += msg.skipped ?? 0;
      for (const e of msg.events) {
        r.events++;
        const type = (e as { type?: string }).type;
        if (type === "read") r.reads++;
        else if (type === "write") r.writes++;
        const bad = checkEvent(e);
        if (bad) problem(bad);
        if (r.events % ZOD_EVERY === 1) {
          r.zod_checked++;
          const parsed = linkEventSchema.safeParse(e);
          if (!parsed.success) {
            r.zod_errors++;
            if (r.first_errors.length < 5) r.first_errors.push(`zod: ${parsed.error.issues[0]?.path.join(".")} ${parsed.error.issues[0]?.message}`);
          }
        }
      }
    } else if (msg.kind === "error") problem(`server error message: ${JSON.stringify(msg)}`);
  };
  ws.onclose = (c) => {
    r.closed = { code: c.code, reason: c.reason };
    if (timer) printCounts();
  };
  const finish = () => {
    clearInterval(timer);
    if (timer) printCounts();
    r.seconds = (performance.now() - started) / 1000;
    console.log(`BENCH_JSON ${JSON.stringify(r)}`);
    ws.close();
    process.exit(0);
  };
  process.on("SIGTERM", finish);
  process.on("SIGINT", finish);
}
