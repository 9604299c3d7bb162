#!/usr/bin/env bun
/**
 * What click analytics costs, same run:
 * `bun bench/analytics.ts [--seconds S (2)] [--rounds R (16)] [--design turns|together|both (both)] [--reads-floor]`.
 * One throwaway cluster; the floor (Bun.serve + Redis GET + 302), then, as shipped (rate limiting
 * on) and with rate limiting off, Shorten with analytics off and on side by side (and, as the
 * run's noise band, two servers both with analytics off), loaded in turn (`turns`) and, as
 * shipped, both at once (`together`), by wrk over 1,000 hot codes with a realistic mix of user agents (browsers, phones, crawlers,
 * preview fetchers), referrers, languages and forwarded addresses, a dashboard WebSocket client
 * connected to each server. Then one analytics worker thread alone: clicks enriched per
 * second, as a multiple of the app's redirect rate, and the rollup rows a second of clicks at that
 * rate writes per shard. Writes bench/results/<stamp>-analytics.md. `--reads-floor` adds a pair
 * loaded at once: analytics off against bench/lib/header-reads-server.ts, analytics on with a
 * recorder that only reads the three headers analytics records and counts the click as analytics
 * off does (the least an exact record costs: the reads alone).
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { clusterDir, clusterDown, clusterEnvVars, clusterUpOnFreePorts, readState, REPO_ROOT } from "../scripts/cluster/index";
import { freePort, startServer, type ServerProcess } from "../harness/server-process";
import { COUNTRY_DB_FILE, ANALYTICS_WORKER_FILE } from "../src/composition/paths";
import { ClickEnricher } from "../src/modules/analytics/click-enricher";
import { HashRing } from "../src/domain/ring";
import { DASHBOARD_TOPICS } from "./lib/dashboard-client";
import { ClickLog } from "../src/modules/analytics/click-log";
import { numberFlag } from "./lib/args";
import { BUN, startChild, waitHttp } from "./lib/proc";
import { createLinks, writeCodesFile } from "./lib/seed";
import { mixedLoad, type Sample } from "./lib/mixed-load";
import { parseProm } from "./lib/backend-metrics";
import { median, quantile } from "./lib/load-result";
import { loadedAtOnce, LOAD_CPU, SERVER_CPU } from "./lib/loaded-at-once";

const SECONDS = numberFlag(Bun.argv, "seconds", 2);
const READS_FLOOR = Bun.argv.includes("--reads-floor");
const READS_ENTRY = "bench/lib/header-reads-server.ts";
/** `turns`: the servers of a pair loaded one after the other; `together`: both at once; `both` (default). */
const DESIGN = Bun.argv.includes("--design") ? Bun.argv[Bun.argv.indexOf("--design") + 1]! : "both";
if (!["turns", "together", "both"].includes(DESIGN)) throw new Error(`--design: turns, together or both, not ${DESIGN}`);
/** Slices per round when both servers of a pair are loaded at once. */
const SLICES = 3;
const ROUNDS = numberFlag(Bun.argv, "rounds", 16);
const UNLIMITED_ROUNDS = Math.max(2, Math.round(ROUNDS / 2));
const NAME = `analytics-${process.pid}`;
/**
 * A pause after each slice, past one click flush (CLICK_FLUSH_MS, 1 s): a server's flush of the
 * slice it just served (counts to PostgreSQL, the last batch to the analytics worker) otherwise
 * lands in the other server's slice. Without it, the server loaded second in a round was the
 * slower one in 14 of an A/A run's 16 rounds (by up to 22 %), whichever slot it was.
 */
const SETTLE_MS = 1200;
/**
 * Each fresh server's load before its round is measured. The JIT's compiler threads took 1.7–2.7
 * µs of CPU a redirect in a fresh server's first 3 s under this load, 0.55–1.3 in the next 3 and
 * 0.07–0.4 after (either server); a server with analytics on has more code to compile (its worker
 * thread's), so a shorter warm-up counted that one-off work as a cost per redirect.
 */
const WARM_UP_S = 6;
const dir = join(REPO_ROOT, "bench/results", `.analytics-${process.pid}`);
mkdirSync(dir, { recursive: true });

await clusterUpOnFreePorts({ name: NAME, shards: 3, firstBase: 45_000, slots: 20 });
const cluster = clusterEnvVars(readState(clusterDir(REPO_ROOT, NAME)));
const env = { ...cluster, RATE_LIMIT_ENABLED: "false", LOG_LEVEL: "error", TRUSTED_PROXIES: "127.0.0.1" };
const LIMITS = { RATE_LIMIT_ENABLED: "true", RATE_LIMIT_REDIRECT_PER_MIN: "10000000" };
const redisNodes = cluster.REDIS_NODES.split(",");

interface Running {
  url: string;
  /** The server's main thread (its pid), whose CPU per request is the steadier figure. */
  pid: number;
  stop: () => Promise<void>;
}

/**
 * A Shorten server with a dashboard client. The two servers of a pair run side by side, so each
 * gets its own Redis for the event bus: an instance relays every other instance's events to its
 * subscribers, and the idle one would otherwise work for the loaded one.
 */
async function app(extra: Record<string, string>, busNode: number, id: number, entry?: string): Promise<Running> {
  const server: ServerProcess = await startServer({ ...env, ...extra, INSTANCE_ID: String(id), EVENT_BUS_REDIS: redisNodes[busNode % redisNodes.length]! }, { entry });
  const ws = startChild("dashboard ws client", [BUN, "bench/lib/ws-client.ts", "--url", `${server.url.replace("http", "ws")}/ws`, "--topics", DASHBOARD_TOPICS]);
  await Bun.sleep(500);
  return {
    url: server.url,
    pid: server.proc.pid!,
    stop: async () => {
      await ws.stop();
      await server.stop();
    },
  };
}


/** Clicks whose details the server dropped (log full or the pool failed): analytics that shed work would flatter its ratio. */
async function unenriched(url: string): Promise<number> {
  const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) });
  return parseProm(await res.text()).get('shorten_clicks{state="unenriched"}') ?? Number.NaN;
}

/** The clicks both servers of a pair dropped the details of; a server with analytics off drops none. */
async function unenrichedOfPair(envs: ReadonlyArray<Record<string, string>>, urls: readonly string[]): Promise<number> {
  const counts = await Promise.all(envs.map((env, i) => (env.ANALYTICS_ENABLED === "false" ? 0 : unenriched(urls[i]!))));
  return counts.reduce((n, m) => n + m, 0);
}

/**
 * Servers `a` and `b` (their env on top of `base`) side by side, loaded in turn in short slices
 * (the order flips every round) so that each round's two figures share the machine's state of the
 * moment; then the same again with their slots swapped, as the two slots were not alike here (an
 * A/A comparison favoured the second by 2–8 % in three runs). This box's host takes CPU away for
 * seconds at a time, unseen from inside (no steal time is reported), so a slice may run 20 % slow:
 * the median of many short rounds' ratios is the figure; the quiet-slice ratio (each server's
 * lower-quartile main-thread µs) is the steadier view of what each redirect costs; the same
 * comparison between two identical servers (A/A) is the run's own noise band.
 */
async function pair(label: string, base: Record<string, string>, a: Record<string, string>, b: Record<string, string>, codesFile: string, count = ROUNDS) {
  const first = await slots(label, { ...base, ...a }, { ...base, ...b }, codesFile, Math.ceil(count / 2));
  const second = await slots(`${label} (slots swapped)`, { ...base, ...b }, { ...base, ...a }, codesFile, Math.floor(count / 2));
  const rounds = [...first.rounds.map((r) => ({ off: r.one, on: r.two })), ...second.rounds.map((r) => ({ off: r.two, on: r.one }))];
  const ratios = rounds.map((r) => r.on.rps / r.off.rps);
  const mid = (pick: (s: Sample) => number) => ({ off: median(rounds.map((r) => pick(r.off))), on: median(rounds.map((r) => pick(r.on))) });
  const [rps, mainUs, allUs, machineUs] = [mid((s) => s.rps), mid((s) => s.mainUs), mid((s) => s.allUs), mid((s) => s.machineUs)];
  return {
    off: rps.off,
    on: rps.on,
    ratio: median(ratios),
    spread: `quartiles ${quantile(ratios, 0.25).toFixed(2)}–${quantile(ratios, 0.75).toFixed(2)}, range ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}`,
    quiet: quantile(rounds.map((r) => r.off.mainUs), 0.25) / quantile(rounds.map((r) => r.on.mainUs), 0.25),
    offUs: mainUs.off,
    onUs: mainUs.on,
    offAllUs: allUs.off,
    onAllUs: allUs.on,
    offMachineUs: machineUs.off,
    onMachineUs: machineUs.on,
    unenriched: first.unenriched + second.unenriched,
  };
}

/**
 * `count` rounds of `x` (slot 1) against `y` (slot 2), each round on a fresh pair of servers
 * (warmed up, then loaded in turn); `unenriched`: the click details dropped by those of them with
 * analytics on. Fresh every round because two servers started alike differ here by a few per cent
 * for their whole life (four identical ones ranged 56,000–61,000 redirects/s in medians of six
 * rounds), so one pair per run carries its own bias into the figure and many pairs average it out.
 */
async function slots(label: string, x: Record<string, string>, y: Record<string, string>, codesFile: string, count: number) {
  const rounds: Array<{ one: Sample; two: Sample }> = [];
  let dropped = 0;
  for (let round = 0; round < count; round++) {
    const one = await app(x, 1, 60);
    const two = await app(y, 2, 61);
    try {
      await mixedLoad(`${label} warm-up`, one.url, null, codesFile, WARM_UP_S);
      await mixedLoad(`${label} warm-up`, two.url, null, codesFile, WARM_UP_S);
      await Bun.sleep(SETTLE_MS);
      const oneFirst = round % 2 === 0;
      const a = await mixedLoad(label, oneFirst ? one.url : two.url, oneFirst ? one.pid : two.pid, codesFile, SECONDS);
      await Bun.sleep(SETTLE_MS);
      const b = await mixedLoad(label, oneFirst ? two.url : one.url, oneFirst ? two.pid : one.pid, codesFile, SECONDS);
      await Bun.sleep(SETTLE_MS);
      const r = oneFirst ? { one: a, two: b } : { one: b, two: a };
      rounds.push(r);
      console.log(`${label} round ${round + 1}: slot 1 ${Math.round(r.one.rps)}/s (${r.one.mainUs.toFixed(1)} µs, all threads ${r.one.allUs.toFixed(1)}, machine ${r.one.machineUs.toFixed(1)}), slot 2 ${Math.round(r.two.rps)}/s (${r.two.mainUs.toFixed(1)} µs, all threads ${r.two.allUs.toFixed(1)}, machine ${r.two.machineUs.toFixed(1)}), ratio ${(r.two.rps / r.one.rps).toFixed(3)}`);
      // The settle above let the last flush's details reach the worker: what was dropped is counted by now.
      dropped += await unenrichedOfPair([x, y], [one.url, two.url]);
    } finally {
      await two.stop();
      await one.stop();
    }
  }
  return { rounds, unenriched: dropped };
}

/** One analytics-on server alone, rate limiting off: the app's redirect rate the worker thread is measured against. */
async function soloRate(codesFile: string): Promise<number> {
  const server = await app({}, 1, 60);
  try {
    await mixedLoad("solo warm-up", server.url, null, codesFile, WARM_UP_S);
    const runs: number[] = [];
    for (let round = 0; round < 3; round++) runs.push((await mixedLoad("solo", server.url, server.pid, codesFile, SECONDS)).rps);
    return median(runs);
  } finally {
    await server.stop();
  }
}

const geometricMean = (xs: readonly number[]) => Math.exp(xs.reduce((n, x) => n + Math.log(x), 0) / xs.length);

/**
 * Servers `a` and `b` (their env on top of `base`) loaded at the same moment, each by its own
 * wrk, on a fresh pair every round, with the slots swapped for half the rounds. Loaded in turn,
 * a slice that meets one of this host's slow spells (a redirect's main-thread CPU moved from 28
 * to 44 µs between slices of one round) makes that round's ratio; loaded together, the spell
 * lands on both. The two main threads share one core (SERVER_CPU) at the same nice, so they get
 * equal time and the one whose redirect costs more serves fewer: the ratio of redirects served
 * is the inverse ratio of their cost. The main-thread CPU per redirect is measured too, as the
 * cost ratio itself. `entryB`: server b's entry file, when not src/main.ts.
 */
async function together(label: string, base: Record<string, string>, a: Record<string, string>, b: Record<string, string>, codesFile: string, count = ROUNDS, entryB?: string) {
  const half = async (name: string, x: Record<string, string>, y: Record<string, string>, rounds: number, entryX?: string, entryY?: string) => {
    let dropped = 0;
    const timing = { codesFile, rounds, warmUpS: WARM_UP_S, settleMs: SETTLE_MS, seconds: SECONDS, slices: SLICES };
    const measured = await loadedAtOnce(name, () => app(x, 1, 60, entryX), () => app(y, 2, 61, entryY), timing, async (one, two) => {
      // The settle after the slices let the last flush's details reach the worker: what was dropped is counted by now.
      dropped += await unenrichedOfPair([x, y], [one.url, two.url]);
    });
    return { rounds: measured, unenriched: dropped };
  };
  const first = await half(label, { ...base, ...a }, { ...base, ...b }, Math.ceil(count / 2), undefined, entryB);
  const second = await half(`${label} (slots swapped)`, { ...base, ...b }, { ...base, ...a }, Math.floor(count / 2), entryB);
  const rounds = [...first.rounds.map((r) => ({ off: r.one, on: r.two })), ...second.rounds.map((r) => ({ off: r.two, on: r.one }))];
  const ratios = rounds.map((r) => r.on.rps / r.off.rps);
  const costs = rounds.map((r) => r.off.mainUs / r.on.mainUs);
  const inSlot = (part: typeof first, on: "one" | "two") => geometricMean(part.rounds.map((r) => (on === "two" ? r.two.rps / r.one.rps : r.one.rps / r.two.rps)));
  return {
    ratio: median(ratios),
    spread: `quartiles ${quantile(ratios, 0.25).toFixed(3)}–${quantile(ratios, 0.75).toFixed(3)}, range ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}`,
    cost: median(costs),
    halves: `${inSlot(first, "two").toFixed(3)} / ${inSlot(second, "one").toFixed(3)}`,
    offUs: median(rounds.map((r) => r.off.mainUs)),
    onUs: median(rounds.map((r) => r.on.mainUs)),
    unenriched: first.unenriched + second.unenriched,
  };
}

try {
  const seed = await startServer({ ...env, INSTANCE_ID: "59" });
  const made = await createLinks(seed.url, Array.from({ length: 1000 }, (_, i) => `https://bench.example/an/${process.pid}/${i}`));
  await seed.stop();
  const codesFile = writeCodesFile(join(dir, "codes.txt"), made.map((m) => ({ ...m, hot: true })));

  const floorPort = await freePort();
  const floorServer = startChild("floor", [BUN, "bench/baselines/floor-server.ts"], { env: { PORT: String(floorPort), REDIS_NODES: cluster.REDIS_NODES } });
  await waitHttp(`http://127.0.0.1:${floorPort}/health/ready`);
  const floorRuns: number[] = [];
  try {
    await mixedLoad("floor warm-up", `http://127.0.0.1:${floorPort}`, null, codesFile, 3);
    for (let round = 0; round < 3; round++) floorRuns.push((await mixedLoad("floor", `http://127.0.0.1:${floorPort}`, null, codesFile, SECONDS)).rps);
  } finally {
    await floorServer.stop();
  }
  const floor = median(floorRuns);
  // As shipped: rate limiting on (budgets above the load, so nothing is refused).
  const OFF = { ANALYTICS_ENABLED: "false" };
  const turns = DESIGN !== "together";
  const shipped = turns ? await pair("rate limiting on (as shipped)", LIMITS, OFF, {}, codesFile) : null;
  const control = turns ? await pair("A/A: as shipped, analytics off in both", LIMITS, OFF, OFF, codesFile) : null;
  // Half the rounds: analytics costs several times the noise band there (0.71–0.80 in past runs), and the time goes to the shipped pair.
  const unlimited = turns ? await pair("rate limiting off", {}, OFF, {}, codesFile, UNLIMITED_ROUNDS) : null;
  const atOnce = DESIGN !== "turns" ? await together("as shipped, both loaded at once", LIMITS, OFF, {}, codesFile) : null;
  const controlAtOnce = DESIGN !== "turns" ? await together("A/A: as shipped, analytics off in both, loaded at once", LIMITS, OFF, OFF, codesFile) : null;
  const readsFloor = READS_FLOOR && DESIGN !== "turns" ? await together("header reads + the counter's increment, loaded at once", LIMITS, OFF, {}, codesFile, ROUNDS, READS_ENTRY) : null;
  const on = unlimited?.on ?? (await soloRate(codesFile));
  // One worker thread alone, fed what a second at the app's rate would log.
  const perSecond = Math.max(1000, Math.round(on));
  const enricher = new ClickEnricher({ workerFile: ANALYTICS_WORKER_FILE, threads: 1, geoFile: COUNTRY_DB_FILE, agentCacheSize: 10_000, trustedProxies: ["127.0.0.1"] });
  const agents = ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"];
  const second = () => {
    const log = new ClickLog(perSecond);
    for (let i = 0; i < perSecond; i++) {
      // Distinct addresses, so every click is a new visitor: the sketches' worst case.
      const headers = new Headers({ "user-agent": agents[i % agents.length]!, "x-forwarded-for": `${(i % 200) + 11}.${(i >> 8) & 255}.${i & 255}.7`, referer: i % 3 ? "https://www.google.com/" : "", "accept-language": "en-US" });
      log.append(made[i % made.length]!.code, null, "127.0.0.1", headers, 0);
    }
    return log.drain();
  };
  await enricher.enrich(second(), "salt", 0);
  const started = performance.now();
  const batches = 5;
  for (let b = 0; b < batches; b++) await enricher.enrich(second(), "salt", 0);
  const enrichPerSecond = (batches * perSecond) / ((performance.now() - started) / 1000);
  await enricher.handOver(new HashRing(1));
  await enricher.enrich(second(), "salt", 0);
  const { perShard } = await enricher.handOver(new HashRing(1));
  const rows = perShard.reduce((n, { columns: c }) => n + c.links + c.dimRows + (c.visitorRows > 0 ? new Set(c.visitorCodes.split(",")).size : 0), 0);
  await enricher.close();

  const row = (name: string, p: NonNullable<typeof shipped>) => [
    `| ${name}, ANALYTICS_ENABLED=false | ${Math.round(p.off).toLocaleString("en")} | ${p.offUs.toFixed(1)} | ${p.offAllUs.toFixed(1)} | ${p.offMachineUs.toFixed(1)} | ${(p.off / floor).toFixed(2)} of the floor |`,
    `| ${name}, analytics on | ${Math.round(p.on).toLocaleString("en")} | ${p.onUs.toFixed(1)} | ${p.onAllUs.toFixed(1)} | ${p.onMachineUs.toFixed(1)} | **${p.ratio.toFixed(3)}** of analytics off (${p.spread}); quiet slices ${p.quiet.toFixed(3)}; ${(p.on / floor).toFixed(2)} of the floor; ${p.unenriched} clicks unenriched |`,
  ];
  const atOnceRow = (name: string, p: NonNullable<typeof atOnce>) =>
    `| ${name} | **${p.ratio.toFixed(3)}** (${p.spread}) | ${p.cost.toFixed(3)} | ${p.halves} | ${p.offUs.toFixed(1)} → ${p.onUs.toFixed(1)} | ${p.unenriched} |`;
  const report = [
    "# Click analytics: what it costs",
    "",
    `${new Date().toISOString()}: a 3-shard cluster (fsync off), wrk -t1 -c64 per server for ${SECONDS} s slices over 1,000 hot codes with 8 header mixes per code (browsers on desktop, phone and tablet, Slackbot, Googlebot; referrers; languages; forwarded addresses of 7 countries through a trusted proxy), a dashboard WebSocket client on each server, a fresh pair of servers every round, each warmed up for ${WARM_UP_S} s first, the slots swapped for half the rounds.`,
    "",
    ...(shipped && control && unlimited
      ? [
          `**Loaded in turn** (order flipping each round), ${ROUNDS} rounds (rate limiting off: ${UNLIMITED_ROUNDS}), after the floor alone. Figures are medians over the rounds; the quiet-slice ratio divides the two servers' lower-quartile main-thread µs; the A/A row compares two servers both with analytics off, the same way, so its distance from 1.00 is this run's noise; µs is CPU per redirect: the server's main thread, all its threads (the analytics worker's too), and the whole machine's busy time (wrk, PostgreSQL and Redis too).`,
          "",
          "| server | redirects/s (median) | main thread µs/redirect | all threads µs/redirect | machine µs/redirect | ratio (median of the rounds' ratios) |",
          "| --- | --- | --- | --- | --- | --- |",
          `| floor (Bun.serve + Redis GET + 302) | ${Math.round(floor).toLocaleString("en")} | | | | 1.00 |`,
          ...row("Shorten as shipped (rate limiting on)", shipped),
          ...row("Shorten, rate limiting off", unlimited),
          `| A/A control: as shipped, analytics off in both slots | ${Math.round(control.on).toLocaleString("en")} | ${control.onUs.toFixed(1)} | ${control.onAllUs.toFixed(1)} | ${control.onMachineUs.toFixed(1)} | **${control.ratio.toFixed(3)}** (${control.spread}); quiet slices ${control.quiet.toFixed(3)}: the run's noise band |`,
          "",
        ]
      : [`The floor alone: ${Math.round(floor).toLocaleString("en")} redirects/s.`, ""]),
    ...(atOnce && controlAtOnce
      ? [
          `**Loaded at once** (each server its own wrk, ${SLICES} slices a round), ${ROUNDS} rounds: the two servers' main threads share CPU ${SERVER_CPU} and both wrk processes CPU ${LOAD_CPU} (taskset), so the ratio of redirects served is the inverse ratio of what a redirect costs; the cost ratio divides the main threads' CPU per redirect (off / on). Halves: the geometric mean of the rounds' ratios with analytics in slot 2, then in slot 1.`,
          "",
          "| pair | redirects served, on / off (median of the rounds) | main-thread cost, off / on | halves | main µs off → on | clicks unenriched |",
          "| --- | --- | --- | --- | --- | --- |",
          atOnceRow("as shipped (rate limiting on)", atOnce),
          atOnceRow("A/A control: analytics off in both", controlAtOnce),
          ...(readsFloor ? [atOnceRow(`the floor: analytics on, its recorder only reading the three headers and counting the click as analytics off does (${READS_ENTRY})`, readsFloor)] : []),
          "",
        ]
      : []),
    `One analytics worker thread: ${Math.round(enrichPerSecond).toLocaleString("en")} clicks/s enriched (batches of ${perSecond.toLocaleString("en")}, every click a new visitor), **${(enrichPerSecond / on).toFixed(1)}x** the app's redirect rate. A second of clicks at that rate over 1,000 links writes ${rows.toLocaleString("en")} rollup rows (link, dimension and sketch rows), ${Math.round(rows / 3).toLocaleString("en")} per shard per flush.`,
  ].join("\n");
  const file = join(REPO_ROOT, "bench/results", `${new Date().toISOString().replace(/[:.]/g, "-").replace(/Z$/, "")}-analytics.md`);
  writeFileSync(file, `${report}\n`);
  console.log(`${report}\n\nreport: ${file}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
  await clusterDown({ name: NAME, wipe: true });
}
