#!/usr/bin/env bun
/**
 * The soak run: `bun bench/soak.ts [--minutes M (10)] [--rate R] [--sample S (30)] [--create-share F (0.05)]`.
 * Boots a throwaway 3-shard cluster and one real server process (rate limiting off, LOG_LEVEL
 * warn), seeds 1,000 links, measures the maximum redirect rate (wrk, closed loop, 10 s) unless
 * --rate is given, then holds half of it for M minutes with a dashboard-like WebSocket client
 * (events,metrics) connected the whole time:
 *   - redirects over the seeded codes at (1 - F) * R req/s from bench/lib/open-loop.ts (open loop),
 *     run as back-to-back windows of S seconds so every window has its own p99;
 *   - creates (POST /create, fresh URLs) at F * R req/s on a fixed schedule from this process.
 * After every window it samples the server's RSS (/proc/<pid>/status VmRSS), its /metrics (event
 * drops, hot-link cache size, clicks counted/flushed/lost, HTTP statuses), the WebSocket client's
 * counts and the server's CPU. Writes bench/results/<stamp>-soak.md (+ .json); exit 1 on any 5xx.
 */
import { mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { clusterDown, clusterEnvVars, clusterUpOnFreePorts, readState, clusterDir, REPO_ROOT } from "../scripts/cluster/index";
import { startServer, type ServerProcess } from "../harness/server-process";
import { parseProm, type Samples } from "./lib/backend-metrics";
import { installSignalCleanup, onCleanup, runCleanup } from "./lib/cleanup";
import { cpuMs } from "./lib/cpu";
import { redirectsFixed, redirectsMax, type LoadTool } from "./lib/load";
import type { LoadResult } from "./lib/load-result";
import { BUN, startChild, type Child } from "./lib/proc";
import { createLinks, writeCodesFile, type SeededCode } from "./lib/seed";
import type { WsClientReport as SoakWsCounts } from "./lib/ws-client";

const arg = (name: string, fallback: number) => {
  const i = Bun.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const n = Number(Bun.argv[i + 1]);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} needs a positive number, got ${Bun.argv[i + 1]}`);
  return n;
};
const rateFlag = Bun.argv.includes("--rate");
const MINUTES = arg("minutes", 10);
const SAMPLE_S = Math.round(arg("sample", 30));
const CREATE_SHARE = Bun.argv.includes("--create-share") ? Number(Bun.argv[Bun.argv.indexOf("--create-share") + 1]) : 0.05;
const LINKS = Math.round(arg("links", 1000));
const HOT = Math.round(LINKS / 5);
const HOT_SHARE = 0.9;
const CONNECTIONS = 64;
const MAX_CREATES_IN_FLIGHT = 256;
const MAX_S = 10;
const NAME = `soak-${process.pid}`;
const log = (s: string) => console.error(`[soak ${new Date().toISOString().slice(11, 19)}] ${s}`);

interface Window {
  /** Seconds since the soak began, at the sample. */
  t: number;
  rss_mb: number;
  hwm_mb: number;
  /** RssAnon (heap, malloc, stacks) and RssFile (mapped files: the bun binary, libraries). */
  anon_mb: number;
  file_mb: number;
  threads: number;
  redirect: Pick<LoadResult, "requests" | "rps" | "failed" | "dropped" | "status"> & { p50: number; p99: number; max: number; seconds: number } | null;
  creates: { done: number; rps: number; p50: number; p99: number; statuses: Record<string, number>; dropped: number } | null;
  drops_events: number;
  drops_batches: number;
  ws_messages: number;
  ws_events: number;
  hot_links: number;
  clicks_counted: number;
  clicks_flushed: number;
  clicks_lost: number;
  ws_clients: number;
  server_5xx: number;
  server_cores: number;
  load1: number;
}

installSignalCleanup();
const work = mkdtempSync(join(tmpdir(), "shorten-soak-"));
onCleanup("soak work dir", () => rmSync(work, { recursive: true, force: true }));
const startedAt = new Date();
const t0 = performance.now();
log(`cluster ${NAME} starting`);
await clusterUpOnFreePorts({ name: NAME, shards: 3, firstBase: 43_000, slots: 40 });
onCleanup("cluster", () => clusterDown({ name: NAME, wipe: true }));
const cluster = clusterEnvVars(readState(clusterDir(REPO_ROOT, NAME)));
const server: ServerProcess = await startServer({ ...cluster, RATE_LIMIT_ENABLED: "false", LOG_LEVEL: "warn", INSTANCE_ID: "61" });
onCleanup("server", () => server.stop());
const pid = server.proc.pid;
const exe = readlinkSync(`/proc/${pid}/exe`);
const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
const childPids = (() => {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim();
  } catch {
    return "?";
  }
})();
log(`server pid ${pid} (${exe}: ${cmdline}; child processes: ${childPids || "none"}) on ${server.url}`);

let exitCode = 1;
try {
  // Seed: 1,000 links through the API, a fifth of them "hot" (90 % of redirects go there).
  const urls = Array.from({ length: LINKS }, (_, i) => `https://soak.example/${process.pid}/seed/${i}`);
  const created = await createLinks(server.url, urls);
  const codes: SeededCode[] = created.map((c, i) => ({ code: c.code, shard: c.shard, longUrl: c.longUrl, hot: i < HOT }));
  const codesFile = writeCodesFile(join(work, "codes.txt"), codes);
  log(`seeded ${LINKS} links (${HOT} hot)`);

  // The dashboard: connected from here to the end (the max run included, as in `bench redirects`).
  const dash = await connectDashboard(server.url);
  const load: LoadTool = { tool: "wrk", workDir: work };
  const base = { url: server.url, codesFile, hotShare: HOT_SHARE, connections: CONNECTIONS };

  let max: LoadResult | null = null;
  let rate: number;
  if (rateFlag) rate = arg("rate", 0);
  else {
    await redirectsMax(load, { ...base, label: "warmup", durationS: 3 });
    max = await redirectsMax(load, { ...base, label: "max", durationS: MAX_S });
    rate = Math.max(100, Math.round(max.rps / 2));
    log(`max: ${max.rps.toFixed(0)} req/s (p99 ${max.latencyMs.p99.toFixed(2)} ms, failed ${max.failed}) → soak at ${rate}/s`);
  }
  const redirectRate = Math.max(1, Math.round(rate * (1 - CREATE_SHARE)));
  const createRate = rate * CREATE_SHARE;

  const windows: Window[] = [];
  const fiveXX: string[] = [];
  let prevCpu = cpuMs(pid);
  let prevT = performance.now();
  const sample = async (t: number, redirect: LoadResult | null, creates: Window["creates"]): Promise<Window> => {
    const m = await scrape(server.url);
    const ws = dash.counts();
    const mem = memory(pid);
    const now = performance.now();
    const cpu = cpuMs(pid);
    const cores = (cpu - prevCpu) / (now - prevT);
    prevCpu = cpu;
    prevT = now;
    let server5xx = 0;
    for (const [k, v] of m) if (is5xx(k)) server5xx += v;
    return {
      t,
      rss_mb: mem.rss,
      hwm_mb: mem.hwm,
      anon_mb: mem.anon,
      file_mb: mem.file,
      threads: mem.threads,
      redirect: redirect && { requests: redirect.requests, rps: redirect.rps, failed: redirect.failed, dropped: redirect.dropped ?? 0, status: redirect.status, p50: redirect.latencyMs.p50, p99: redirect.latencyMs.p99, max: redirect.latencyMs.max, seconds: redirect.seconds },
      creates,
      drops_events: m.get('shorten_event_drops{unit="events"}') ?? Number.NaN,
      drops_batches: m.get('shorten_event_drops{unit="batches"}') ?? Number.NaN,
      ws_messages: ws?.messages ?? Number.NaN,
      ws_events: ws?.events ?? Number.NaN,
      hot_links: m.get("shorten_hot_links") ?? Number.NaN,
      clicks_counted: m.get('shorten_clicks{state="counted"}') ?? Number.NaN,
      clicks_flushed: m.get('shorten_clicks{state="flushed"}') ?? Number.NaN,
      clicks_lost: m.get('shorten_clicks{state="lost"}') ?? Number.NaN,
      ws_clients: m.get("shorten_ws_clients") ?? Number.NaN,
      server_5xx: server5xx,
      server_cores: cores,
      load1: loadavg()[0]!,
    };
  };

  const before = await sample(0, null, null);
  windows.push(before);
  log(`t=0: RSS ${before.rss_mb.toFixed(1)} MB, hot links ${before.hot_links}, ws msgs ${before.ws_messages}`);

  // The soak: creates on their own fixed schedule for the whole time, redirects in windows.
  const creator = startCreates(server.url, createRate, fiveXX);
  const soakStart = performance.now();
  const total = MINUTES * 60;
  const n = Math.max(1, Math.round(total / SAMPLE_S));
  for (let w = 0; w < n; w++) {
    const res = await redirectsFixed(load, { ...base, label: `soak-${w + 1}`, durationS: SAMPLE_S, rate: redirectRate });
    for (const [status, count] of Object.entries(res.status)) if (Number(status) >= 500) fiveXX.push(`GET /<code> → ${status} × ${count} (window ${w + 1})`);
    const s = await sample((performance.now() - soakStart) / 1000, res, creator.window());
    windows.push(s);
    log(
      `t=${s.t.toFixed(0)}s RSS ${s.rss_mb.toFixed(1)} MB (anon ${s.anon_mb.toFixed(1)}, threads ${s.threads}) | redirects ${res.rps.toFixed(0)}/s p99 ${res.latencyMs.p99.toFixed(2)} ms failed ${res.failed} dropped ${res.dropped ?? 0}` +
        ` | creates ${s.creates!.rps.toFixed(0)}/s p99 ${s.creates!.p99.toFixed(1)} ms | drops ${s.drops_events}/${s.drops_batches} | ws ${s.ws_messages} msgs ${s.ws_events} ev | hot ${s.hot_links} | clicks ${s.clicks_counted}/${s.clicks_flushed}/${s.clicks_lost} | cores ${s.server_cores.toFixed(2)} load ${s.load1.toFixed(1)}`,
    );
  }
  await creator.stop();
  const soakSeconds = (performance.now() - soakStart) / 1000;
  // Clicks flush on a timer: give the last ones a moment, then one more look.
  await Bun.sleep(3000);
  const after = await scrape(server.url);
  const wsFinal = await dash.stop();
  const ready = (await fetch(`${server.url}/health/ready`)).status;
  let resolved = 0;
  for (const c of codes.slice(0, 50)) if ((await fetch(`${server.url}/${c.code}`, { redirect: "manual" })).headers.get("location") === c.longUrl) resolved++;

  // Verdict: RSS levels off if the mean of the last third of the samples is < 10 % above the middle third's.
  const soak = windows.slice(1);
  const third = Math.max(1, Math.floor(soak.length / 3));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const midRss = mean(soak.slice(third, soak.length - third).map((s) => s.rss_mb));
  const lastRss = mean(soak.slice(soak.length - third).map((s) => s.rss_mb));
  const growth = lastRss / midRss - 1;
  const enough = soak.length >= 3;
  const levelsOff = enough && growth < 0.1;
  const half = soak.slice(Math.floor(soak.length / 2));
  const slope = slopeMbPerMin(half.map((s) => [s.t, s.rss_mb]));
  const slopeAnon = slopeMbPerMin(half.map((s) => [s.t, s.anon_mb]));
  // The third-vs-third rule can pass while RSS still climbs at the end: say so when the fitted
  // rise over the second half alone is 10 % of the last third's mean or more (the rule's own bar;
  // sample-to-sample noise is +-5 % or so, so a smaller fitted rise says little).
  const halfMinutes = half.length > 1 ? (half[half.length - 1]!.t - half[0]!.t) / 60 : 0;
  const stillRising = Number.isFinite(slope) && slope * halfMinutes >= 0.1 * lastRss;
  const server5xx = soak[soak.length - 1]!.server_5xx;
  // Which requests the server answered 5xx (its own count, so also ones no client of ours saw as such).
  const server5xxSeries = [...after].filter(([k, v]) => v > 0 && is5xx(k)).map(([k, v]) => `${k.replace(/^shorten_http_requests_total/, "")}: ${v}`);
  const first5xxWindow = soak.find((s) => s.server_5xx > 0);
  const notReady = [...after].filter(([k]) => /^shorten_http_requests_total\{route="\/health\/ready".*status="503"/.test(k)).reduce((a, [, v]) => a + v, 0);
  const client5xx = fiveXX.length;
  const redirectsDone = soak.reduce((a, s) => a + (s.redirect?.requests ?? 0), 0);
  const redirectsFailed = soak.reduce((a, s) => a + (s.redirect?.failed ?? 0), 0);
  const redirectsDropped = soak.reduce((a, s) => a + (s.redirect?.dropped ?? 0), 0);
  const createsDone = creator.totals.done;
  const dropsEvents = (after.get('shorten_event_drops{unit="events"}') ?? 0) - before.drops_events;
  const dropsBatches = (after.get('shorten_event_drops{unit="batches"}') ?? 0) - before.drops_batches;
  const wsEvents = wsFinal.events - (before.ws_events || 0);

  const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : "n/a");
  const int = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString("en") : "n/a");
  const rows = windows.map((s, i) => {
    const prev = windows[i - 1];
    const rps = s.redirect ? s.redirect.rps + (s.creates?.rps ?? 0) : Number.NaN;
    const dE = prev ? s.drops_events - prev.drops_events : Number.NaN;
    const dB = prev ? s.drops_batches - prev.drops_batches : Number.NaN;
    const dM = prev ? s.ws_messages - prev.ws_messages : Number.NaN;
    const dEv = prev ? s.ws_events - prev.ws_events : Number.NaN;
    return `| ${f(s.t / 60, 1)} | ${f(s.rss_mb)} | ${f(s.anon_mb)} | ${s.redirect ? int(rps) : "(before)"} | ${s.redirect ? f(s.redirect.p99, 2) : ""} | ${s.creates ? f(s.creates.p99, 1) : ""} | ${int(s.drops_events)} (+${int(dE)}) | ${int(s.drops_batches)} (+${int(dB)}) | ${int(s.ws_messages)} (+${int(dM)}) | ${int(dEv)} | ${int(s.hot_links)} | ${int(s.clicks_counted)} / ${int(s.clicks_flushed)} / ${int(s.clicks_lost)} | ${f(s.server_cores, 2)} | ${f(s.load1, 1)} |`;
  });
  const statusLine = (rec: Record<string, number>) => Object.entries(rec).sort().map(([k, v]) => `${k}: ${v}`).join(", ") || "none";
  const redirectStatus: Record<string, number> = {};
  for (const s of soak) for (const [k, v] of Object.entries(s.redirect?.status ?? {})) redirectStatus[k] = (redirectStatus[k] ?? 0) + v;
  const serverWarnings = server.output().split("\n").filter((l) => l.trim() !== "");
  const report = [
    `# Soak run`,
    ``,
    `${startedAt.toISOString()}: ${f(soakSeconds / 60, 1)} min at ${rate} req/s = ${rateFlag ? "--rate" : `half of the measured max (${f(max!.rps, 0)} req/s, wrk -t1 -c${CONNECTIONS} ${MAX_S} s closed loop, p99 ${f(max!.latencyMs.p99, 2)} ms)`}, against one server process (RATE_LIMIT_ENABLED=false, LOG_LEVEL=warn) on a throwaway 3-shard cluster (Redis + PG primary + replica per shard), loopback, 2-core shared machine.`,
    ``,
    `- load: redirects at ${redirectRate}/s over ${LINKS} seeded codes (${HOT} hot get ${HOT_SHARE * 100} %), from bench/lib/open-loop.ts (open loop, ${CONNECTIONS} keep-alive connections) in back-to-back ${SAMPLE_S} s windows (each a fresh generator process: a few hundred ms gap between windows); creates (POST /create, a fresh URL each) at ${f(createRate, 0)}/s = ${CREATE_SHARE * 100} % on a fixed schedule from the soak process (fetch, keep-alive).`,
    `- dashboard: bench/lib/ws-client.ts --every 1000, its own process, subscribed to events,metrics from before the max run to the end; checks every event's shape (bench/lib/event-check.ts) and 1 in 50 against the zod contract.`,
    `- RSS: VmRSS of pid ${pid}, which is the server itself (${exe} ${cmdline.replace(/^\S+ /, "")}; child processes: ${childPids || "none"}; Piscina workers are threads of it, so counted).`,
    ``,
    `## Verdict`,
    ``,
    `- RSS ${!enough ? "**not judged (fewer than 3 samples)**" : levelsOff ? "**levels off**" : "**does not level off**"}: mean of the last third ${f(lastRss)} MB vs the middle third ${f(midRss)} MB = ${growth >= 0 ? "+" : ""}${f(growth * 100, 1)} % (threshold +10 %). Before load ${f(before.rss_mb)} MB; first window ${f(soak[0]!.rss_mb)} MB; last ${f(soak[soak.length - 1]!.rss_mb)} MB; peak (VmHWM) ${f(soak[soak.length - 1]!.hwm_mb)} MB; slope over the second half ${slope >= 0 ? "+" : ""}${f(slope, 2)} MB/min (anonymous memory ${slopeAnon >= 0 ? "+" : ""}${f(slopeAnon, 2)} MB/min)${stillRising ? " — **but still rising over the second half** (fitted +${f(slope * halfMinutes)} MB in ${f(halfMinutes, 1)} min, ≥ 10 %): the rule passes, the trend does not prove a plateau; a longer run would settle it" : ""}.`,
    `- 5xx: **${client5xx + server5xx === 0 ? 0 : `${client5xx} seen by clients, ${server5xx} counted by the server`}**${server5xxSeries.length ? ` (server: ${server5xxSeries.join(", ")}; first seen in the sample at ${f((first5xxWindow?.t ?? 0) / 60, 1)} min${before.server_5xx > 0 ? `, ${before.server_5xx} already before the soak (seeding / max run)` : ""})` : ""}.`,
    `- redirects: ${int(redirectsDone)} answered, failed (non-3xx + socket errors + unanswered) ${redirectsFailed}, not sent on schedule (generator backlog full) ${redirectsDropped}; non-3xx statuses: ${statusLine(redirectStatus)}.`,
    `- creates: ${int(createsDone)} answered (${int(creator.totals.created)} new), statuses ${statusLine(creator.totals.statuses)}, errors ${creator.totals.errors}, not sent (over ${MAX_CREATES_IN_FLIGHT} in flight) ${creator.totals.dropped}; p50 / p99 over the run ${f(creator.totals.p50, 1)} / ${f(creator.totals.p99, 1)} ms.`,
    `- event drops during the soak: ${int(dropsEvents)} events in ${int(dropsBatches)} batches; dashboard received ${int(wsEvents)} events in ${int(wsFinal.messages)} messages (${wsFinal.metrics_messages} metrics pushes), schema errors ${wsFinal.schema_errors + wsFinal.zod_errors}${wsFinal.first_errors.length ? ` (${wsFinal.first_errors.join("; ")})` : ""}, connection ${wsFinal.closed ? `closed ${wsFinal.closed.code} ${wsFinal.closed.reason}` : "open to the end"}.`,
    `- clicks: counted ${int(after.get('shorten_clicks{state="counted"}') ?? Number.NaN)}, flushed ${int(after.get('shorten_clicks{state="flushed"}') ?? Number.NaN)}, lost ${int(after.get('shorten_clicks{state="lost"}') ?? Number.NaN)}, unenriched (counted without analytics details) ${int(after.get('shorten_clicks{state="unenriched"}') ?? Number.NaN)} (3 s after the load stopped); hot-link cache ${int(after.get("shorten_hot_links") ?? Number.NaN)} links.`,
    `- afterwards: /health/ready ${ready} (503s from /health/ready over the server's life, not counted as 5xx: ${notReady}, the start-up wait polls it before the server is ready); ${resolved}/50 seeded links still resolve; server log lines at warn+: ${serverWarnings.length}.`,
    ``,
    `## Over time (sampled after every ${SAMPLE_S} s window)`,
    ``,
    `RSS = VmRSS, anon = its RssAnon part (heap, malloc, stacks). Drops, WebSocket messages and clicks are cumulative since the server started (in brackets: this window); "ws events" is this window's events. req/s = redirects + creates answered per second of the window; p99 is this window's (redirects: open-loop, from the tick each request was due; creates: from when the fetch was issued).`,
    ``,
    `| minute | RSS MB | anon MB | req/s | redirect p99 ms | create p99 ms | event drops | drop batches | ws msgs | ws events | hot links | clicks counted / flushed / lost | server cores | load avg |`,
    `| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |`,
    ...rows,
    ...(fiveXX.length ? ["", "## 5xx", "", ...fiveXX.slice(0, 50).map((l) => `- ${l}`)] : []),
    ...(serverWarnings.length ? ["", "## Server log (warn+, last 20 lines)", "", "```", ...serverWarnings.slice(-20).map((l) => l.slice(0, 400)), "```"] : []),
    ``,
    `Command: \`bun bench/soak.ts ${Bun.argv.slice(2).join(" ")}\`; ${f((performance.now() - t0) / 1000, 0)} s in all.`,
  ].join("\n");
  const dir = join(REPO_ROOT, "bench/results");
  mkdirSync(dir, { recursive: true });
  const stamp = startedAt.toISOString().replace(/[:.]/g, "-").replace(/Z$/, "");
  const file = join(dir, `${stamp}-soak.md`);
  writeFileSync(file, `${report}\n`);
  writeFileSync(join(dir, `${stamp}-soak.json`), `${JSON.stringify({ startedAt, minutes: MINUTES, rate, redirectRate, createRate, max, pid, exe, verdict: { levelsOff, stillRising, midRss, lastRss, growth, slopeMbPerMin: slope, anonSlopeMbPerMin: slopeAnon }, client5xx: fiveXX, server5xx, server5xxSeries, creates: creator.totals, dashboard: wsFinal, windows }, null, 1)}\n`);
  console.log(report);
  console.log(`\nreport: ${file}`);
  exitCode = client5xx + server5xx === 0 ? 0 : 1;
} finally {
  await runCleanup();
}
process.exit(exitCode);

// ---------------------------------------------------------------------------------------------

/** A 5xx series of the server's request counter; /health/ready's 503 ("not ready yet", polled at start-up) is not an error answer. */
function is5xx(series: string): boolean {
  return /^shorten_http_requests_total\{.*status="5\d\d"/.test(series) && !/route="\/health\/ready"/.test(series);
}

function memory(p: number): { rss: number; hwm: number; anon: number; file: number; threads: number } {
  try {
    const status = readFileSync(`/proc/${p}/status`, "utf8");
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN);
    return { rss: kb("VmRSS") / 1024, hwm: kb("VmHWM") / 1024, anon: kb("RssAnon") / 1024, file: kb("RssFile") / 1024, threads: Number(/^Threads:\s+(\d+)/m.exec(status)?.[1] ?? Number.NaN) };
  } catch {
    return { rss: Number.NaN, hwm: Number.NaN, anon: Number.NaN, file: Number.NaN, threads: Number.NaN };
  }
}

async function scrape(url: string): Promise<Samples> {
  try {
    const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) });
    return parseProm(await res.text());
  } catch {
    return new Map();
  }
}

function slopeMbPerMin(points: Array<[number, number]>): number {
  if (points.length < 2) return Number.NaN;
  const mx = points.reduce((a, p) => a + p[0], 0) / points.length;
  const my = points.reduce((a, p) => a + p[1], 0) / points.length;
  const num = points.reduce((a, p) => a + (p[0] - mx) * (p[1] - my), 0);
  const den = points.reduce((a, p) => a + (p[0] - mx) ** 2, 0);
  return den === 0 ? Number.NaN : (num / den) * 60;
}

function pct(sorted: Float64Array | number[], p: number): number {
  return sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** The dashboard client process and its latest `COUNTS` line. */
async function connectDashboard(baseUrl: string): Promise<{ counts: () => SoakWsCounts | null; stop: () => Promise<SoakWsCounts> }> {
  const wsUrl = `${baseUrl.replace(/^http/, "ws")}/ws`;
  const child: Child = startChild("soak ws client", [BUN, "bench/lib/ws-client.ts", "--url", wsUrl, "--topics", "events,metrics", "--every", "1000"]);
  const deadline = Date.now() + 10_000;
  while (!child.stdout().includes("READY")) {
    if (child.proc.exitCode !== null || Date.now() > deadline) throw new Error(`ws client did not subscribe to ${wsUrl}: ${child.stderr().slice(-1000)}`);
    await Bun.sleep(20);
  }
  // Only the tail is parsed; the child's whole stdout stays in memory (~200 B a second).
  const counts = () => {
    const out = child.stdout();
    const at = out.lastIndexOf("COUNTS ", out.length - 2);
    if (at < 0) return null;
    const end = out.indexOf("\n", at);
    return JSON.parse(out.slice(at + 7, end < 0 ? undefined : end)) as SoakWsCounts;
  };
  return {
    counts,
    async stop() {
      await child.stop();
      const last = counts();
      if (!last) throw new Error(`ws client printed no counts: ${child.stderr().slice(-1000)}`);
      return last;
    },
  };
}

/**
 * POST /create at `rate`/s on a fixed schedule (open loop: a request is sent when due, whatever
 * the earlier ones do; over MAX_CREATES_IN_FLIGHT outstanding it is counted as not sent).
 * `window()` returns and resets the figures since the last call.
 */
function startCreates(baseUrl: string, rate: number, fiveXX: string[]) {
  const totals = { done: 0, created: 0, errors: 0, dropped: 0, statuses: {} as Record<string, number>, p50: Number.NaN, p99: Number.NaN };
  const all: number[] = [];
  let win = { done: 0, dropped: 0, lat: [] as number[], statuses: {} as Record<string, number>, since: performance.now() };
  let inFlight = 0;
  let sent = 0;
  let stopped = false;
  const start = performance.now();
  const interval = 1000 / Math.max(rate, 1e-9);
  const one = async () => {
    const t = performance.now();
    const i = sent;
    inFlight++;
    try {
      const res = await fetch(`${baseUrl}/create`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ url: `https://soak.example/${process.pid}/new/${i}/${Math.random().toString(36).slice(2)}` }),
        signal: AbortSignal.timeout(15_000),
      });
      const body = await res.text();
      const ms = performance.now() - t;
      totals.done++;
      win.done++;
      win.lat.push(ms);
      all.push(ms);
      totals.statuses[res.status] = (totals.statuses[res.status] ?? 0) + 1;
      win.statuses[res.status] = (win.statuses[res.status] ?? 0) + 1;
      if (res.status === 201) totals.created++;
      if (res.status >= 500 && fiveXX.length < 1000) fiveXX.push(`POST /create → ${res.status} ${body.slice(0, 160)}`);
    } catch (error) {
      totals.errors++;
      win.statuses.error = (win.statuses.error ?? 0) + 1;
      if (totals.errors <= 5) log(`create failed: ${(error as Error).message}`);
    } finally {
      inFlight--;
    }
  };
  const tick = () => {
    if (stopped) return;
    const now = performance.now();
    while (start + sent * interval <= now) {
      if (inFlight >= MAX_CREATES_IN_FLIGHT) {
        totals.dropped++;
        win.dropped++;
      } else void one();
      sent++;
    }
    setTimeout(tick, 2);
  };
  if (rate > 0) tick();
  return {
    totals,
    window(): Window["creates"] {
      const now = performance.now();
      const lat = win.lat.sort((a, b) => a - b);
      const out = { done: win.done, rps: win.done / ((now - win.since) / 1000), p50: pct(lat, 50), p99: pct(lat, 99), statuses: win.statuses, dropped: win.dropped };
      win = { done: 0, dropped: 0, lat: [], statuses: {}, since: now };
      return out;
    },
    async stop() {
      stopped = true;
      const deadline = performance.now() + 15_000;
      while (inFlight > 0 && performance.now() < deadline) await Bun.sleep(10);
      all.sort((a, b) => a - b);
      totals.p50 = pct(all, 50);
      totals.p99 = pct(all, 99);
    },
  };
}
