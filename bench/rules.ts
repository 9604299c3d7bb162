#!/usr/bin/env bun
/**
 * What redirect rules cost, same run: `bun bench/rules.ts [--seconds S (5)] [--rounds R (6)]`.
 * A. In process, no server: choosing among 5 typical rules (os ios; device mobile/tablet; country
 *    JP/KR; language de; query campaign=spring) with the server's own chooser (a real user agent
 *    cache, the shipped country database, the forwarded address through a trusted proxy), over the
 *    8 header mixes of bench/wrk/redirects.lua; a user agent and an address seen for the first
 *    time apart; a link without rules, which never calls the chooser; and the same chooser timed
 *    inside a live Bun.serve under wrk, where it costs more than in a tight loop.
 * B. One Shorten server as shipped, loaded by wrk in turn over 1,000 hot links without rules and
 *    1,000 hot links with the 5 rules (both made with the same API key, so they differ only in
 *    their rules): redirects/s and the main thread's CPU per redirect.
 * C. "A link without rules pays nothing": the server at the commit before rules existed (a
 *    detached worktree) against today's server, side by side, over the same links without rules.
 * Writes bench/results/<stamp>-rules.md.
 */
import { existsSync, mkdirSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { clusterDir, clusterDown, clusterEnvVars, clusterUpOnFreePorts, readState, REPO_ROOT } from "../scripts/cluster/index";
import { freePort, startServer } from "../harness/server-process";
import { COUNTRY_DB_FILE } from "../src/composition/paths";
import { composeKeyAdmin } from "../src/composition/key-admin";
import { parseConfig } from "../src/config";
import { clientIp } from "../src/http/client-ip";
import type { RedirectRule } from "../src/domain/redirect-rules";
import { countryLookup } from "../src/modules/analytics/country-lookup";
import { UserAgents } from "../src/modules/analytics/user-agent";
import { ruleChooser } from "../src/modules/links/rule-facts";
import { numberFlag } from "./lib/args";
import { installSignalCleanup, onCleanup, runCleanup } from "./lib/cleanup";
import { BUN, startChild, waitHttp } from "./lib/proc";
import { createLinks, writeCodesFile } from "./lib/seed";
import { mixedLoad, type Sample } from "./lib/mixed-load";

const SECONDS = numberFlag(Bun.argv, "seconds", 5);
const ROUNDS = numberFlag(Bun.argv, "rounds", 6);
const NAME = `rules-${process.pid}`;
const dir = join(REPO_ROOT, "bench/results", `.rules-${process.pid}`);
/** The tree before issue 23 (e8746e8 brought rules): the "unchanged" reference. */
const BASE_REF = "e8746e8~1";
const BASE_TREE = "/tmp/rules-base";
const TRUSTED = ["127.0.0.1"];
/** Addresses whose countries the rules' lookup keeps, as src/composition/redirects.ts has it. */
const REMEMBERED = 10_000;

/** bench/wrk/redirects.lua's VARIANTS, the same mix wrk sends with MIX_HEADERS=1. */
const VARIANTS: Array<{ name: string; headers: Record<string, string> }> = [
  { name: "Chrome on Windows, en-US, US", headers: { "User-Agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", Referer: "https://www.google.com/", "Accept-Language": "en-US,en;q=0.9", "X-Forwarded-For": "8.8.8.8" } },
  { name: "Safari on iPhone, de-DE, GB", headers: { "User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", Referer: "https://t.co/x", "Accept-Language": "de-DE,de;q=0.8", "X-Forwarded-For": "81.2.69.142" } },
  { name: "Firefox on Linux, fr, IPv6", headers: { "User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", "Accept-Language": "fr", "X-Forwarded-For": "2a00:1450:4001:80b::200e" } },
  { name: "Chrome on Android (Pixel 8)", headers: { "User-Agent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36", Referer: "https://news.ycombinator.com/", "X-Forwarded-For": "1.1.1.1" } },
  { name: "Safari on macOS, en-GB", headers: { "User-Agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15", Referer: "https://www.linkedin.com/feed/", "Accept-Language": "en-GB", "X-Forwarded-For": "193.0.6.139" } },
  { name: "Safari on iPad, ja, JP", headers: { "User-Agent": "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", "Accept-Language": "ja", "X-Forwarded-For": "133.242.0.1" } },
  { name: "Slackbot", headers: { "User-Agent": "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", "X-Forwarded-For": "54.80.0.1" } },
  { name: "Googlebot", headers: { "User-Agent": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "X-Forwarded-For": "66.249.66.1" } },
];

/** The 5 rules typical of real use, as the API stores them (lists), with targets of link `tag`. */
function typicalRules(tag: string): RedirectRule[] {
  return [
    { when: { os: ["ios"] }, url: `https://ios.example/${tag}` },
    { when: { device: ["mobile", "tablet"] }, url: `https://mobile.example/${tag}` },
    { when: { country: ["JP", "KR"] }, url: `https://asia.example/${tag}` },
    { when: { language: ["de"] }, url: `https://german.example/${tag}` },
    { when: { query: { campaign: "spring" } }, url: `https://spring.example/${tag}` },
  ];
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

// ---------------------------------------------------------------------------------------------
// A. In process.

const ITERATIONS = 250_000;
const TIMING_RUNS = 5;
let sink = 0;

/**
 * µs per call of `body`, median of TIMING_RUNS runs of `n` calls after one untimed run: the JIT
 * has compiled the path and the user agent cache holds the mix by then, as on a server that has
 * been up for a minute. The results are summed into `sink` so the work cannot be dropped.
 */
function perCall(n: number, body: (i: number) => number): number {
  for (let i = 0; i < n; i++) sink += body(i);
  const runs: number[] = [];
  for (let r = 0; r < TIMING_RUNS; r++) {
    const started = Bun.nanoseconds();
    for (let i = 0; i < n; i++) sink += body(i);
    runs.push((Bun.nanoseconds() - started) / 1000 / n);
  }
  return median(runs);
}

/** The same address the server's rate limiter and chooser use: the peer is wrk on loopback, a trusted proxy. */
const clientAddress = (request: Request) => clientIp("127.0.0.1", request.headers.get("x-forwarded-for"), TRUSTED);
const requestOf = (headers: Record<string, string>) => new Request("http://127.0.0.1:8080/AbC12xy", { headers });

function partA() {
  // The database is read on the first country asked, once per process: timed alone so the
  // per-call figures below are of a warm server. Addresses' countries are remembered (10,000)
  // as src/composition/redirects.ts composes the lookup for the rules.
  const loadStarted = performance.now();
  const country = countryLookup(COUNTRY_DB_FILE, REMEMBERED);
  country("133.242.0.1");
  const dbLoadMs = performance.now() - loadStarted;

  const agents = new UserAgents(10_000);
  const choose = ruleChooser({ agents, country, clientAddress });
  // One rules array for every call, as a cached link keeps its own (compiled once, then read).
  const rules = typicalRules("bench");
  const requests = VARIANTS.map((v) => requestOf(v.headers));
  // The server hands the chooser the address its rate limiter worked out for the request (paid
  // by every redirect, rules or not), so it is worked out here outside the timed calls.
  const clients = requests.map(clientAddress);
  const picks = requests.map((r, i) => choose(rules, r, clients[i]));
  const noneAt = picks.flatMap((p, i) => (p === null ? [i] : []));
  const firstAt = picks.flatMap((p, i) => (p === 0 ? [i] : []));
  if (noneAt.length === 0 || firstAt.length === 0) throw new Error(`part A: the mix should hold requests no rule matches and requests the first rule matches; picks ${JSON.stringify(picks)}`);

  const mixUs = perCall(ITERATIONS, (i) => choose(rules, requests[i & 7]!, clients[i & 7]) ?? 9);
  const noneUs = perCall(ITERATIONS, (i) => {
    const k = noneAt[i % noneAt.length]!;
    return choose(rules, requests[k]!, clients[k]) ?? 9;
  });
  const firstUs = perCall(ITERATIONS, (i) => {
    const k = firstAt[i % firstAt.length]!;
    return choose(rules, requests[k]!, clients[k]) ?? 9;
  });
  // With rate limiting off the server has no address to hand over: the chooser asks for it.
  const unlimitedUs = perCall(ITERATIONS, (i) => choose(rules, requests[i & 7]!) ?? 9);
  // A link without rules: the reader's only work is this check; the chooser is never called.
  const plain = Array.from({ length: 1000 }, (_, i) => ({ longUrl: `https://bench.example/${i}`, expiresAt: null, maxVisits: null, owner: null }) as { longUrl: string; rules?: RedirectRule[] });
  const plainUs = perCall(ITERATIONS * 4, (i) => (plain[i % 1000]!.rules === undefined ? 1 : 0));
  // The same loop reading the same array without the check: what the harness itself costs.
  const loopUs = perCall(ITERATIONS * 4, (i) => (plain[i % 1000]!.longUrl.length & 1));

  // First-seen user agents: every request a distinct string (a version number made unique, so
  // the parser takes the same paths as for the real string), a fresh cache per run.
  const DISTINCT = 20_000;
  const fresh = Array.from({ length: DISTINCT }, (_, i) => {
    const v = VARIANTS[i & 7]!.headers;
    return requestOf({ ...v, "User-Agent": v["User-Agent"]!.replace(/(\d+)\.(\d+)/, `$1.${1000 + i}`) });
  });
  const firstSeenRuns: number[] = [];
  for (let r = 0; r <= TIMING_RUNS; r++) {
    const cold = ruleChooser({ agents: new UserAgents(10_000), country, clientAddress });
    const started = Bun.nanoseconds();
    for (let i = 0; i < DISTINCT; i++) sink += cold(rules, fresh[i]!, clients[i & 7]) ?? 9;
    if (r > 0) firstSeenRuns.push((Bun.nanoseconds() - started) / 1000 / DISTINCT);
  }
  // First-seen client addresses, on the mixes that reach the country condition (user agents
  // cached): every call a new address, so the remembered countries never answer.
  const addresses = Array.from({ length: DISTINCT }, (_, i) => `${(i % 200) + 11}.${(i >> 8) & 255}.${i & 255}.7`);
  const newAddressRuns: number[] = [];
  for (let r = 0; r <= TIMING_RUNS; r++) {
    const countryCold = countryLookup(COUNTRY_DB_FILE, REMEMBERED);
    countryCold("1.1.1.1");
    const cold = ruleChooser({ agents, country: countryCold, clientAddress });
    const started = Bun.nanoseconds();
    for (let i = 0; i < DISTINCT; i++) sink += cold(rules, requests[noneAt[i % noneAt.length]!]!, addresses[i]) ?? 9;
    if (r > 0) newAddressRuns.push((Bun.nanoseconds() - started) / 1000 / DISTINCT);
  }
  return {
    dbLoadMs,
    picks,
    mixUs,
    noneUs,
    noneCount: noneAt.length,
    firstUs,
    firstCount: firstAt.length,
    unlimitedUs,
    plainNs: plainUs * 1000,
    loopNs: loopUs * 1000,
    firstSeenUs: median(firstSeenRuns),
    newAddressUs: median(newAddressRuns),
    distinct: DISTINCT,
  };
}

/**
 * The same chooser inside a live Bun.serve loaded by wrk with the same mix, its calls timed in the
 * handler. A tight loop over 8 reused requests flatters it: here every request is new, and
 * between two calls the network stack and the rest of the handler take the caches. The client
 * address is worked out as the server's rate limiter does (server.requestIP, then
 * X-Forwarded-For through the trusted proxy) and handed to the chooser, as the server does; it
 * is timed apart because Bun does not keep the peer address (each requestIP is a getpeername
 * system call), which is what the chooser would pay again if it asked itself.
 */
async function partALive(codesFile: string) {
  const country = countryLookup(COUNTRY_DB_FILE, REMEMBERED);
  const rules = typicalRules("bench");
  const totals = { peerNs: 0, chooseNs: 0, calls: 0 };
  let measuring = false;
  // As src/composition/server.ts composes it (clientKey), for the rate limiter and the chooser alike.
  const clientKey = (r: Request) => clientIp(server.requestIP(r)?.address, r.headers.get("x-forwarded-for"), TRUSTED);
  const choose = ruleChooser({ agents: new UserAgents(10_000), country, clientAddress: clientKey });
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: await freePort(),
    fetch(request) {
      const started = Bun.nanoseconds();
      const client = clientKey(request);
      const peered = Bun.nanoseconds();
      const rule = choose(rules, request, client);
      const chosen = Bun.nanoseconds();
      if (measuring) {
        totals.peerNs += peered - started;
        totals.chooseNs += chosen - peered;
        totals.calls++;
      }
      return new Response(null, { status: 302, headers: { location: rule === null ? "https://bench.example/" : rules[rule]!.url } });
    },
  });
  const undo = onCleanup("in-process Bun.serve", () => server.stop(true));
  try {
    await mixedLoad("A live warm-up", server.url.origin, null, codesFile, 3);
    measuring = true;
    const result = await mixedLoad("A live", server.url.origin, null, codesFile, SECONDS);
    return { peerUs: totals.peerNs / totals.calls / 1000, chooseUs: totals.chooseNs / totals.calls / 1000, calls: totals.calls, rps: result.rps };
  } finally {
    await undo();
  }
}

// ---------------------------------------------------------------------------------------------
// B and C. Servers under wrk.

interface Running {
  url: string;
  /** The server's main thread (its pid), whose CPU per request is the steadier figure. */
  pid: number;
  stop: () => Promise<unknown>;
}


interface Side {
  name: string;
  server: Running;
  codesFile: string;
}

/**
 * Two loads taken in turn (the order flips every round) so that each round's two figures share
 * the machine's state of the moment; the medians of the rounds' ratios and differences are the
 * figures, as throughput on this box swings by a fifth between minutes.
 */
async function alternate(label: string, a: Side, b: Side) {
  await mixedLoad(`${label} ${a.name} warm-up`, a.server.url, null, a.codesFile, 3);
  await mixedLoad(`${label} ${b.name} warm-up`, b.server.url, null, b.codesFile, 3);
  const rounds: Array<{ a: Sample; b: Sample }> = [];
  for (let round = 0; round < ROUNDS; round++) {
    const [first, second] = round % 2 === 0 ? [a, b] : [b, a];
    const x = await mixedLoad(`${label} ${first.name}`, first.server.url, first.server.pid, first.codesFile, SECONDS);
    const y = await mixedLoad(`${label} ${second.name}`, second.server.url, second.server.pid, second.codesFile, SECONDS);
    const r = first === a ? { a: x, b: y } : { a: y, b: x };
    rounds.push(r);
    console.log(`${label} round ${round + 1}: ${a.name} ${Math.round(r.a.rps)}/s (${r.a.mainUs.toFixed(1)} µs, all threads ${r.a.allUs.toFixed(1)}), ${b.name} ${Math.round(r.b.rps)}/s (${r.b.mainUs.toFixed(1)} µs, all threads ${r.b.allUs.toFixed(1)}), ratio ${(r.b.rps / r.a.rps).toFixed(3)}`);
  }
  const stats = (pick: (r: { a: Sample; b: Sample }) => Sample) => ({ rps: median(rounds.map((r) => pick(r).rps)), mainUs: median(rounds.map((r) => pick(r).mainUs)), allUs: median(rounds.map((r) => pick(r).allUs)) });
  return {
    a: stats((r) => r.a),
    b: stats((r) => r.b),
    ratio: median(rounds.map((r) => r.b.rps / r.a.rps)),
    ratios: rounds.map((r) => (r.b.rps / r.a.rps).toFixed(2)),
    diffUs: median(rounds.map((r) => r.b.mainUs - r.a.mainUs)),
    diffs: rounds.map((r) => (r.b.mainUs - r.a.mainUs).toFixed(1)),
    diffAllUs: median(rounds.map((r) => r.b.allUs - r.a.allUs)),
  };
}

/** POST /create with an API key (rules need one; createLinks sends none), `concurrency` at a time. */
async function createOwned(baseUrl: string, key: string, bodies: ReadonlyArray<Record<string, unknown>>, concurrency = 16): Promise<Array<{ code: string; shard: number; longUrl: string; hot: boolean }>> {
  const out: Array<{ code: string; shard: number; longUrl: string; hot: boolean }> = new Array(bodies.length);
  let next = 0;
  const worker = async () => {
    while (next < bodies.length) {
      const i = next++;
      const res = await fetch(`${baseUrl}/create`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${key}` }, body: JSON.stringify(bodies[i]) });
      const body = (await res.json()) as { short_code?: string; long_url?: string };
      if (res.status !== 201 || !body.short_code || !body.long_url) throw new Error(`seeding: POST /create with a key answered ${res.status} ${JSON.stringify(body)}`);
      out[i] = { code: body.short_code, shard: Number(res.headers.get("x-shard")), longUrl: body.long_url, hot: true };
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return out;
}

/** Where the server sends a request with these headers (the rules applied) and where it found the link, or throws. */
async function locationOf(url: string, headers: Record<string, string>): Promise<{ location: string; source: string | null }> {
  const res = await fetch(url, { redirect: "manual", headers });
  await res.arrayBuffer();
  const location = res.headers.get("location");
  if (res.status !== 302 || location === null) throw new Error(`GET ${url}: ${res.status}, expected a 302`);
  return { location, source: res.headers.get("x-source") };
}

function git(...args: string[]): string {
  const run = Bun.spawnSync(["git", "-C", REPO_ROOT, ...args], { stdout: "pipe", stderr: "pipe" });
  if (run.exitCode !== 0) throw new Error(`git ${args.join(" ")}: ${run.stderr.toString()}`);
  return run.stdout.toString().trim();
}

/** The worktree goes: the node_modules link first, so nothing can reach through it into the main tree's. */
function removeBaseTree(): void {
  if (existsSync(join(BASE_TREE, "node_modules"))) unlinkSync(join(BASE_TREE, "node_modules"));
  if (existsSync(BASE_TREE)) git("worktree", "remove", "--force", BASE_TREE);
  git("worktree", "prune");
}

/**
 * The server of another tree: harness/server-process starts only this repository's src/main.ts,
 * so this mirrors what it does (same env defaults, readiness on /health/ready) with the tree as cwd.
 */
async function startTreeServer(cwd: string, env: Record<string, string>): Promise<Running> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = startChild(`server in ${cwd}`, [BUN, "src/main.ts"], { cwd, env: { HOST: "127.0.0.1", PORT: String(port), LOG_LEVEL: "warn", OBSERVABILITY_PUBLIC: "true", ...env } });
  try {
    await waitHttp(`${url}/health/ready`, 30_000);
  } catch (error) {
    await child.stop();
    throw new Error(`server in ${cwd} not ready: ${(error as Error).message}\n${child.stderr().slice(-2000)}`);
  }
  return { url, pid: child.proc.pid, stop: () => child.stop() };
}

async function startCurrent(env: Record<string, string>): Promise<Running> {
  const server = await startServer(env);
  const undo = onCleanup(`server ${server.url}`, () => server.stop());
  return { url: server.url, pid: server.proc.pid!, stop: undo };
}

// ---------------------------------------------------------------------------------------------

installSignalCleanup();
mkdirSync(dir, { recursive: true });
onCleanup("scratch directory", () => rmSync(dir, { recursive: true, force: true }));
try {
  // In process first, before the cluster's processes share the two cores.
  console.log("part A: choosing a rule in process...");
  const a = partA();
  console.log(`part A: mix ${a.mixUs.toFixed(2)} µs, none ${a.noneUs.toFixed(2)} µs, first rule ${a.firstUs.toFixed(2)} µs, no address handed ${a.unlimitedUs.toFixed(2)} µs, first-seen UA ${a.firstSeenUs.toFixed(2)} µs, first-seen address ${a.newAddressUs.toFixed(2)} µs, no rules ${a.plainNs.toFixed(2)} ns`);
  // Any codes will do: the live server answers every path with the same rules.
  const live = await partALive(writeCodesFile(join(dir, "live.txt"), Array.from({ length: 1000 }, (_, i) => ({ code: `live${i}`, shard: 0, longUrl: "", hot: true }))));
  console.log(`part A live: choose ${live.chooseUs.toFixed(2)} µs, peer address ${live.peerUs.toFixed(2)} µs (${live.calls} calls)`);

  const baseSha = git("rev-parse", "--short", BASE_REF);
  if (git("ls-tree", "--name-only", BASE_REF, "src/domain/").split("\n").includes("src/domain/redirect-rules.ts")) throw new Error(`${BASE_REF} already has redirect rules: not a reference without them`);
  // A worktree left by an interrupted run is this bench's own (a fixed path): it is replaced.
  if (existsSync(BASE_TREE)) removeBaseTree();
  git("worktree", "add", "--detach", BASE_TREE, BASE_REF);
  onCleanup("base worktree", removeBaseTree);
  symlinkSync(join(REPO_ROOT, "node_modules"), join(BASE_TREE, "node_modules"));

  onCleanup("cluster", () => clusterDown({ name: NAME, wipe: true }));
  await clusterUpOnFreePorts({ name: NAME, shards: 3, firstBase: 46_000, slots: 20 });
  const cluster = clusterEnvVars(readState(clusterDir(REPO_ROOT, NAME)));
  const redisNodes = cluster.REDIS_NODES.split(",");
  const env = { ...cluster, LOG_LEVEL: "error", TRUSTED_PROXIES: TRUSTED.join(",") };
  // As shipped (rate limiting and analytics on), with a redirect budget above the load.
  const shipped = { ...env, RATE_LIMIT_REDIRECT_PER_MIN: "10000000" };

  // The key is written to the catalog as `bun run keys` (and test/support/keys.ts) does.
  const parsed = parseConfig(cluster);
  if (!parsed.ok) throw new Error(parsed.message);
  const admin = composeKeyAdmin(parsed.config);
  const key = await admin.create("bench-rules").finally(() => admin.close());

  const seed = await startCurrent({ ...env, RATE_LIMIT_ENABLED: "false", INSTANCE_ID: "55" });
  const tag = `https://bench.example/rules/${process.pid}`;
  const anonymous = (await createLinks(seed.url, Array.from({ length: 1000 }, (_, i) => `${tag}/anon/${i}`))).map((m) => ({ ...m, hot: true }));
  // Both sets of Part B are owned by the same key: an owner rides along on every redirect (its
  // event topic), so only the rules differ between them.
  const owned = await createOwned(seed.url, key.text, Array.from({ length: 1000 }, (_, i) => ({ url: `${tag}/owned/${i}` })));
  const ruled = await createOwned(seed.url, key.text, Array.from({ length: 1000 }, (_, i) => ({ url: `${tag}/ruled/${i}`, rules: typicalRules(String(i)) })));
  await seed.stop();
  const anonymousFile = writeCodesFile(join(dir, "anonymous.txt"), anonymous);
  const ownedFile = writeCodesFile(join(dir, "owned.txt"), owned);
  const ruledFile = writeCodesFile(join(dir, "ruled.txt"), ruled);

  // Each server its own Redis for the event bus: an instance relays every other instance's
  // events, and the idle one would otherwise work for the loaded one. No dashboard client (unlike
  // bench/analytics.ts): its delivery costs both code sets alike, and on two cores one process
  // fewer steadies the difference that is measured here.
  const current = await startCurrent({ ...shipped, INSTANCE_ID: "56", EVENT_BUS_REDIS: redisNodes[1 % redisNodes.length]! });

  // The rules links must really go through the rules on this server, each rule reachable.
  const windows = VARIANTS[0]!.headers["User-Agent"]!;
  for (const i of [0, 499, 999]) {
    const link = ruled[i]!;
    const url = `${current.url}/${link.code}`;
    const checks: Array<[Record<string, string>, string, string]> = [
      [{ "user-agent": VARIANTS[1]!.headers["User-Agent"]! }, `https://ios.example/${i}`, ""],
      [{ "user-agent": VARIANTS[3]!.headers["User-Agent"]! }, `https://mobile.example/${i}`, ""],
      [{ "user-agent": windows, "x-forwarded-for": "133.242.0.1" }, `https://asia.example/${i}`, ""],
      [{ "user-agent": windows, "accept-language": "de-DE,de;q=0.9" }, `https://german.example/${i}`, ""],
      [{ "user-agent": windows }, `https://spring.example/${i}?campaign=spring`, "?campaign=spring"],
      [{ "user-agent": windows, "x-forwarded-for": "8.8.8.8" }, link.longUrl, ""],
    ];
    let source: string | null = null;
    for (const [headers, expected, query] of checks) {
      const got = await locationOf(`${url}${query}`, headers);
      if (got.location !== expected) throw new Error(`rules link ${link.code}: ${JSON.stringify(headers)}${query} went to ${got.location}, expected ${expected}`);
      source = got.source;
    }
    // A link with rules is held in the instance's memory like any other (the rules ride along).
    if (source !== "memory") throw new Error(`rules link ${link.code}: served from ${source} after 6 reads, expected memory`);
  }

  console.log("part B: one server, links without rules vs links with 5 rules...");
  const b = await alternate("B", { name: "without rules", server: current, codesFile: ownedFile }, { name: "with rules", server: current, codesFile: ruledFile });

  await current.stop();

  console.log(`part C: ${BASE_REF} (${baseSha}) vs today's server, links without rules...`);
  // Two fresh servers started together: B's server has compiled the rules path and holds the
  // rules links and their clicks, which the older server never saw.
  const base = await startTreeServer(BASE_TREE, { ...shipped, INSTANCE_ID: "57", EVENT_BUS_REDIS: redisNodes[2 % redisNodes.length]! });
  const today = await startCurrent({ ...shipped, INSTANCE_ID: "58", EVENT_BUS_REDIS: redisNodes[1 % redisNodes.length]! });
  const cAnonymous = await alternate("C anonymous", { name: "before rules", server: base, codesFile: anonymousFile }, { name: "today", server: today, codesFile: anonymousFile });
  const cOwned = await alternate("C owned", { name: "before rules", server: base, codesFile: ownedFile }, { name: "today", server: today, codesFile: ownedFile });
  await base.stop();
  await today.stop();

  const n = (x: number) => Math.round(x).toLocaleString("en");
  const signed = (x: number, digits = 1) => `${x >= 0 ? "+" : ""}${x.toFixed(digits)}`;
  const report = [
    "# Redirect rules: what they cost",
    "",
    `${new Date().toISOString()}. Rules used throughout, 5 typical of real use, in this order: os ios; device mobile or tablet; country JP or KR; language de; query campaign=spring (each with its own target). Requests carry the 8 header mixes of bench/wrk/redirects.lua (MIX_HEADERS=1): ${VARIANTS.map((v, i) => `${v.name} → ${a.picks[i] === null ? "no rule" : `rule ${a.picks[i]}`}`).join("; ")}. So ${a.noneCount} of 8 requests evaluate all 5 conditions and find none, the rest stop at the first or second rule.`,
    "",
    "## A. Choosing a rule, in process",
    "",
    `The server's chooser (\`ruleChooser\`, src/modules/links/rule-facts.ts) as src/composition/redirects.ts composes it: a real \`UserAgents(10_000)\`, the shipped country database remembering ${n(REMEMBERED)} addresses' countries, and the client address the rate limiter worked out handed over (X-Forwarded-For through a trusted proxy). Over prebuilt \`Request\`s; median of ${TIMING_RUNS} timed runs of ${n(ITERATIONS)} calls, after an untimed run (JIT warm, user agents and the 8 addresses remembered).`,
    "",
    "| case | cost per redirect |",
    "| --- | --- |",
    `| link without rules: the reader checks \`link.rules === undefined\`, the chooser is not called | ${a.plainNs.toFixed(1)} ns with the timing loop; the same loop reading another property of the same links: ${a.loopNs.toFixed(1)} ns (no chooser call: nothing measurable) |`,
    `| 5 rules, the 8 mixes in turn | **${a.mixUs.toFixed(2)} µs** |`,
    `| 5 rules, the ${a.noneCount} mixes no rule matches (user agent, country, language and query all asked) | **${a.noneUs.toFixed(2)} µs** |`,
    `| 5 rules, the ${a.firstCount} mixes the first rule (os ios) matches (user agent only) | ${a.firstUs.toFixed(2)} µs |`,
    `| 5 rules, the 8 mixes, no address handed over (RATE_LIMIT_ENABLED=false: the chooser works it out itself; here from X-Forwarded-For alone, while the server's own also asks the socket, the requestIP row below) | ${a.unlimitedUs.toFixed(2)} µs |`,
    `| 5 rules, a user agent seen for the first time (the parse included; ${n(a.distinct)} distinct strings, the 8 mixes with a version number made unique, a fresh cache per run) | ${a.firstSeenUs.toFixed(2)} µs, i.e. ~${(a.firstSeenUs - a.mixUs).toFixed(1)} µs for the parse |`,
    `| 5 rules, a client address seen for the first time (the ${a.noneCount} no-match mixes, ${n(a.distinct)} distinct addresses, a fresh lookup per run: the database walk included) | ${a.newAddressUs.toFixed(2)} µs, i.e. ~${(a.newAddressUs - a.noneUs).toFixed(1)} µs for the lookup |`,
    `| the country database, read on the first country asked (once per process) | ${a.dbLoadMs.toFixed(0)} ms |`,
    `| 5 rules, the 8 mixes, inside a live Bun.serve under wrk (${n(live.rps)} requests/s; mean of ${n(live.calls)} calls timed in the handler, each request new) | **${live.chooseUs.toFixed(2)} µs** |`,
    `| for comparison, in that server: working out the client address (\`server.requestIP\`, a getpeername system call each time, then X-Forwarded-For), which every redirect pays for the rate limiter and the chooser reuses | ${live.peerUs.toFixed(2)} µs |`,
    "",
    "## B. One server as shipped, links without rules vs links with the 5 rules",
    "",
    `Shorten as shipped (rate limiting on with a redirect budget above the load, analytics on, TRUSTED_PROXIES=127.0.0.1, LOG_LEVEL=error), a 3-shard cluster (fsync off). wrk -t1 -c64, ${SECONDS} s per load, the two code sets loaded in turn (order flipping each round), ${ROUNDS} rounds after a 3 s warm-up each; 1,000 hot links per set, all made with the same API key (so both are owned, differing only in their rules). Checked before the load: each rule of the rules links is reached (iPhone, Android, a Japanese address, German, ?campaign=spring) and a desktop in the US gets the link's own URL. Figures are medians over the rounds; µs is the server's CPU per redirect, its main thread and all its threads (the analytics worker's too).`,
    "",
    "| links | redirects/s (median) | main thread µs/redirect | all threads µs/redirect | with rules vs without |",
    "| --- | --- | --- | --- | --- |",
    `| 1,000 without rules | ${n(b.a.rps)} | ${b.a.mainUs.toFixed(1)} | ${b.a.allUs.toFixed(1)} | |`,
    `| 1,000 with 5 rules | ${n(b.b.rps)} | ${b.b.mainUs.toFixed(1)} | ${b.b.allUs.toFixed(1)} | throughput **${b.ratio.toFixed(3)}** (rounds ${b.ratios.join(", ")}); main thread **${signed(b.diffUs)} µs**/redirect (rounds ${b.diffs.join(", ")}), all threads ${signed(b.diffAllUs)} µs |`,
    "",
    `## C. Links without rules: today's server vs the server before rules (${BASE_REF} = ${baseSha})`,
    "",
    `The same configuration, both servers side by side on the same cluster (a worktree of ${baseSha}, started from its own src/main.ts), loaded in turn over the same links, ${ROUNDS} rounds after a 3 s warm-up each: 1,000 anonymous links (as bench/run.ts redirects seeds them) and the 1,000 owned links without rules of B.`,
    "",
    "| links | server | redirects/s (median) | main thread µs/redirect | all threads µs/redirect | today vs before rules |",
    "| --- | --- | --- | --- | --- | --- |",
    ...([["1,000 anonymous", cAnonymous], ["1,000 owned, no rules", cOwned]] as const).flatMap(([name, c]) => [
      `| ${name} | before rules (${baseSha}) | ${n(c.a.rps)} | ${c.a.mainUs.toFixed(1)} | ${c.a.allUs.toFixed(1)} | |`,
      `| ${name} | today | ${n(c.b.rps)} | ${c.b.mainUs.toFixed(1)} | ${c.b.allUs.toFixed(1)} | throughput **${c.ratio.toFixed(3)}** (rounds ${c.ratios.join(", ")}); main thread **${signed(c.diffUs)} µs** (rounds ${c.diffs.join(", ")}) |`,
    ]),
  ].join("\n");
  const file = join(REPO_ROOT, "bench/results", `${new Date().toISOString().replace(/[:.]/g, "-").replace(/Z$/, "")}-rules.md`);
  writeFileSync(file, `${report}\n`);
  console.log(`${report}\n\nreport: ${file}`);
  if (sink === -1) console.log("unreachable");
} finally {
  await runCleanup();
}
