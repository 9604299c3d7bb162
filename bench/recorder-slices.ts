#!/usr/bin/env bun
/**
 * What the click recorder costs a redirect's main thread, with nothing else of the service
 * around it: one Bun.serve process (pinned to CPU 0) answers `GET /{code}` with a 302 from a map,
 * reading the client address as the rate limiter does, and counts each redirect in one of three
 * ways that take turns every `--slice-ms`: the click counter's map increment (analytics off), the
 * shipped recorder (`clickRecorder` over a `ClickLog`), and a second recorder of its own (the A/A
 * control; the two recorders swap places every cycle). wrk (CPU 1) sends bench/wrk/redirects.lua's header mix throughout. Each log is drained
 * at the end of its own slice, so a slice carries its drain. The figure per cycle is the
 * difference of the slices' main-thread CPU per redirect (/proc schedstat): paired slices a
 * second apart share the host's slow spells, which a comparison of two processes does not.
 *
 *   bun bench/recorder-slices.ts [--seconds 240] [--slice-ms 500]
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { clickRecorder, ClickLog } from "../src/modules/analytics/click-log";
import { ClickCounter } from "../src/modules/clicks/click-counter";
import { clientIp } from "../src/http/client-ip";
import { freePort } from "../harness/server-process";
import { numberFlag } from "./lib/args";
import { quantile } from "./lib/load-result";
import { BUN, startChild, waitHttp } from "./lib/proc";
import { writeCodesFile } from "./lib/seed";
import { runWrk } from "./lib/wrk";

const WAYS = ["counter", "recorder", "recorder (A/A)"] as const;

/** The links the server answers and wrk asks for: 200 codes, 7 owners. */
const LINKS = Array.from({ length: 200 }, (_, i) => ({ code: `rs${i.toString(36).padStart(5, "0")}`, owner: `owner${i % 7}`, longUrl: `https://bench.example/${i}` }));

function serve(port: number, sliceMs: number): void {
  const links = new Map(LINKS.map((link) => [link.code, link]));
  const counter = new ClickCounter();
  const logs = [new ClickLog(1_000_000, 500), new ClickLog(1_000_000, 500)];
  let server: ReturnType<typeof Bun.serve> | null = null;
  const peer = (request: Request) => server?.requestIP(request)?.address;
  const recorders = logs.map((log) => clickRecorder(log, counter, peer));
  const trusted = ["127.0.0.1"];
  let way = 0;
  let step = 0;
  let served = 0;
  server = Bun.serve({
    port,
    hostname: "127.0.0.1",
    fetch(request) {
      const url = request.url;
      if (url.endsWith("/result")) return Response.json(result());
      const link = links.get(url.slice(url.indexOf("/", 8) + 1));
      if (link === undefined) return new Response(null, { status: 404 });
      served++;
      const client = clientIp(peer(request), request.headers.get("x-forwarded-for"), trusted);
      const outcome = { code: link.code, owner: link.owner };
      if (way === 0) counter.record(link.code);
      else recorders[way - 1]!(outcome, request, client, request.method, url);
      return new Response(null, { status: 302, headers: { location: link.longUrl } });
    },
  });
  const mainNs = () => Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, "utf8").split(" ")[0]);
  const cycles: number[][] = [];
  let cycle: number[] = [];
  let lastNs = mainNs();
  let lastServed = 0;
  setInterval(() => {
    // No owners kept: the analytics bench's dashboard holds no topic that streams enriched clicks.
    if (way > 0) logs[way - 1]!.release(logs[way - 1]!.drain(0));
    else counter.drain();
    const ns = mainNs();
    cycle[way] = served - lastServed > 1000 ? (ns - lastNs) / 1000 / (served - lastServed) : Number.NaN;
    lastNs = ns;
    lastServed = served;
    step = (step + 1) % WAYS.length;
    if (step === 0) {
      cycles.push(cycle);
      cycle = [];
    }
    // The two recorders swap places every cycle, so neither is always the one after the counter.
    way = cycles.length % 2 === 0 || step === 0 ? step : 3 - step;
  }, sliceMs);
  const result = (): SlicesResult => {
    // The first cycles warm the JIT up.
    const done = cycles.filter((c) => c.length === WAYS.length && c.every((x) => !Number.isNaN(x))).slice(3);
    const of = (pick: (c: number[]) => number) => quartiles(done.map(pick));
    return {
      cycles: done.length,
      us: WAYS.map((_, i) => of((c) => c[i]!)),
      recorderMinusCounter: of((c) => c[1]! - c[0]!),
      control: of((c) => c[2]! - c[1]!),
    };
  };
}

interface Quartiles {
  q1: number;
  median: number;
  q3: number;
}

interface SlicesResult {
  cycles: number;
  /** Per way (WAYS order): main-thread µs a redirect. */
  us: Quartiles[];
  recorderMinusCounter: Quartiles;
  control: Quartiles;
}

function quartiles(values: number[]): Quartiles {
  return { q1: quantile(values, 0.25), median: quantile(values, 0.5), q3: quantile(values, 0.75) };
}

if (import.meta.main) {
  const argv = Bun.argv.slice(2);
  const sliceMs = numberFlag(argv, "slice-ms", 500);
  if (argv.includes("--serve")) serve(numberFlag(argv, "port", 0), sliceMs);
  else {
    const seconds = numberFlag(argv, "seconds", 240);
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), "recorder-slices-"));
    const app = startChild("recorder harness", ["taskset", "-c", "0", BUN, import.meta.path, "--serve", "--port", String(port), "--slice-ms", String(sliceMs)]);
    try {
      const url = `http://127.0.0.1:${port}`;
      await waitHttp(`${url}/result`);
      const codesFile = writeCodesFile(join(dir, "codes.txt"), LINKS.map((link) => ({ ...link, hot: true, shard: 0 })));
      const load = await runWrk({ label: "recorder slices", url, script: "redirects", env: { CODES_FILE: codesFile, HOT_SHARE: "1", MIX_HEADERS: "1", COUNT_HEADERS: "0" }, connections: 64, durationS: seconds, cpus: "1" });
      const r = (await (await fetch(`${url}/result`)).json()) as SlicesResult;
      const fmt = (q: Quartiles) => `${q.median.toFixed(3)} (quartiles ${q.q1.toFixed(3)} to ${q.q3.toFixed(3)})`;
      console.log(`${new Date().toISOString()}: ${Math.round(load.rps)} redirects/s, ${r.cycles} cycles of ${WAYS.length} × ${sliceMs} ms slices`);
      WAYS.forEach((w, i) => console.log(`  ${w}: ${fmt(r.us[i]!)} µs of main thread a redirect`));
      console.log(`  recorder minus counter: ${fmt(r.recorderMinusCounter)} µs a redirect (paired within each cycle)`);
      console.log(`  A/A, recorder minus recorder: ${fmt(r.control)} µs (the method's noise)`);
    } finally {
      await app.stop(5000);
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
