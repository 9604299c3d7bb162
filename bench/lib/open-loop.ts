#!/usr/bin/env bun
/**
 * Open-loop (fixed-rate) HTTP load for "p99 at half of max": wrk is closed loop (a slow answer
 * delays the next request, so latency under a fixed offered load is hidden: coordinated
 * omission) and wrk2 is not available. This sends GET /<code> on a fixed schedule over a pool of
 * keep-alive raw TCP connections, whatever the answers do; a request that finds no free
 * connection waits in a queue and its wait counts.
 *
 * Timers in Bun fire at ~1 ms granularity, so requests go out in small batches each tick. Two
 * latencies are recorded: `latencyMs` from the tick the request was due and sent (or queued),
 * the server's share; `scheduledLatencyMs` from its exact slot in the schedule, which adds the
 * generator's own timer lag (up to ~1-2 ms) on top.
 *
 *   bun bench/lib/open-loop.ts --url http://127.0.0.1:8080 --codes codes.txt --rate 5000 --duration 8 [--connections 64] [--hot-share 0.9]
 *
 * Prints `BENCH_JSON <LoadResult>`.
 */
import { readFileSync } from "node:fs";
import type { Socket } from "bun";
import type { LoadResult } from "./load-result";

export interface OpenLoopOptions {
  url: string;
  codesFile: string;
  rate: number;
  durationS: number;
  connections: number;
  hotShare: number;
  label: string;
}

interface Pending {
  due: number;
  slot: number;
}

interface Conn {
  socket: Socket<undefined> | null;
  buf: string;
  inFlight: Pending | null;
}

export async function openLoop(o: OpenLoopOptions): Promise<LoadResult> {
  const target = new URL(o.url);
  const host = target.hostname;
  const port = Number(target.port || 80);
  const { hot, cold } = readCodes(o.codesFile, host);
  const total = Math.max(1, Math.round(o.rate * o.durationS));
  const latencies = new Float64Array(total);
  const scheduled = new Float64Array(total);
  let done = 0;
  let dropped = 0;
  let socketErrors = 0;
  const counts: Record<string, number> = { s3xx: 0, non3xx: 0, hit: 0, miss: 0 };
  const status: Record<string, number> = {};
  const sources: Record<string, number> = {};
  const idle: Conn[] = [];
  const backlog: Pending[] = [];
  const maxBacklog = Math.max(100, o.rate * 2);

  const pick = () => (Math.random() < o.hotShare ? hot[(Math.random() * hot.length) | 0]! : cold[(Math.random() * cold.length) | 0]!);

  const send = (conn: Conn, p: Pending) => {
    conn.inFlight = p;
    conn.socket!.write(pick());
  };
  const release = (conn: Conn) => {
    const next = backlog.shift();
    if (next) send(conn, next);
    else idle.push(conn);
  };
  const complete = (conn: Conn, head: string) => {
    const p = conn.inFlight!;
    conn.inFlight = null;
    const now = performance.now();
    if (done < total) {
      latencies[done] = now - p.due;
      scheduled[done] = now - p.slot;
      done++;
    }
    const code = Number(head.slice(9, 12));
    if (code >= 300 && code < 400) counts.s3xx!++;
    else {
      counts.non3xx!++;
      status[code] = (status[code] ?? 0) + 1;
    }
    const cache = /\r\nx-cache: *(\w+)/i.exec(head)?.[1];
    if (cache === "HIT") counts.hit!++;
    else if (cache === "MISS") counts.miss!++;
    const key = `${/\r\nx-shard: *(\S+)/i.exec(head)?.[1] ?? "?"}:${/\r\nx-source: *(\S+)/i.exec(head)?.[1] ?? "none"}`;
    sources[key] = (sources[key] ?? 0) + 1;
    release(conn);
  };
  const onData = (conn: Conn, chunk: string) => {
    conn.buf += chunk;
    for (;;) {
      const end = conn.buf.indexOf("\r\n\r\n");
      if (end < 0 || !conn.inFlight) return;
      const head = conn.buf.slice(0, end);
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      let bodyEnd = end + 4 + length;
      if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
        const term = conn.buf.indexOf("0\r\n\r\n", end + 4);
        if (term < 0) return;
        bodyEnd = term + 5;
      }
      if (conn.buf.length < bodyEnd) return;
      conn.buf = conn.buf.slice(bodyEnd);
      complete(conn, head);
    }
  };

  const conns: Conn[] = [];
  await Promise.all(
    Array.from({ length: o.connections }, async () => {
      const conn: Conn = { socket: null, buf: "", inFlight: null };
      conn.socket = await Bun.connect({
        hostname: host,
        port,
        socket: {
          data: (_s, data) => onData(conn, data.toString("latin1")),
          close: () => {
            if (conn.inFlight) socketErrors++;
            conn.inFlight = null;
            conn.socket = null;
          },
          error: () => {
            socketErrors++;
          },
        },
      });
      conns.push(conn);
      idle.push(conn);
    }),
  );

  const interval = 1000 / o.rate;
  const start = performance.now() + 20;
  let next = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (next < total && start + next * interval <= now) {
        const p: Pending = { due: now, slot: start + next * interval };
        next++;
        const conn = idle.pop();
        if (conn?.socket) send(conn, p);
        else if (backlog.length < maxBacklog) backlog.push(p);
        else dropped++;
      }
      if (next < total) setTimeout(tick, 1);
      else resolve();
    };
    setTimeout(tick, Math.max(0, start - performance.now()));
  });
  const sentEnd = performance.now();
  const drainDeadline = sentEnd + 5000;
  while ((backlog.length > 0 || conns.some((c) => c.inFlight)) && performance.now() < drainDeadline) await Bun.sleep(5);
  const unanswered = backlog.length + conns.filter((c) => c.inFlight).length;
  for (const c of conns) c.socket?.end();

  const seconds = (sentEnd - start) / 1000;
  const lat = Array.from(latencies.subarray(0, done)).sort((a, b) => a - b);
  const sch = Array.from(scheduled.subarray(0, done)).sort((a, b) => a - b);
  const pct = (arr: number[], p: number) => arr[Math.min(arr.length - 1, Math.floor((p / 100) * arr.length))] ?? 0;
  const mean = lat.reduce((a, b) => a + b, 0) / Math.max(1, lat.length);
  return {
    tool: "open-loop",
    label: o.label,
    seconds,
    requests: done,
    rps: done / seconds,
    latencyMs: { p50: pct(lat, 50), p95: pct(lat, 95), p99: pct(lat, 99), max: lat[lat.length - 1] ?? 0, mean },
    failed: counts.non3xx! + socketErrors + unanswered,
    socketErrors: socketErrors + unanswered,
    counts: { ...counts, scheduled_p50_ms: pct(sch, 50), scheduled_p99_ms: pct(sch, 99), unanswered },
    status,
    sources,
    shards: {},
    dropped,
    targetRate: o.rate,
  };
}

/** Pre-formatted requests from the runner's code file (lines "<code> <hot|cold> <shard>"). */
function readCodes(file: string, host: string): { hot: string[]; cold: string[] } {
  const hot: string[] = [];
  const cold: string[] = [];
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const [code, kind] = line.trim().split(/\s+/);
    if (!code) continue;
    (kind === "cold" ? cold : hot).push(`GET /${code} HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
  }
  if (hot.length === 0 && cold.length === 0) throw new Error(`no codes in ${file}`);
  return { hot: hot.length > 0 ? hot : cold, cold: cold.length > 0 ? cold : hot };
}

if (import.meta.main) {
  const arg = (name: string, fallback?: string): string => {
    const i = Bun.argv.indexOf(`--${name}`);
    const v = i >= 0 ? Bun.argv[i + 1] : fallback;
    if (v === undefined) throw new Error(`open-loop: --${name} is required`);
    return v;
  };
  const result = await openLoop({
    url: arg("url"),
    codesFile: arg("codes"),
    rate: Number(arg("rate")),
    durationS: Number(arg("duration", "8")),
    connections: Number(arg("connections", "64")),
    hotShare: Number(arg("hot-share", "0.9")),
    label: arg("label", "open-loop"),
  });
  console.log(`BENCH_JSON ${JSON.stringify(result)}`);
  process.exit(0);
}
