#!/usr/bin/env bun
/**
 * What click analytics costs, same run: `bun bench/analytics.ts [--seconds S (8)] [--rounds R (3)]`.
 * One throwaway cluster; the floor (Bun.serve + Redis GET + 302), then Shorten with analytics off
 * and on, with rate limiting off and on (as shipped), one process at a time, each loaded by wrk
 * over 1,000 hot codes with a realistic mix of user agents (browsers, phones, crawlers, preview
 * fetchers), referrers, languages and forwarded addresses, a dashboard WebSocket client connected
 * to the app; rounds interleaved. Then one analytics worker thread alone: clicks enriched per
 * second, as a multiple of the app's redirect rate, and the rollup rows a second of clicks at that
 * rate writes per shard. Writes bench/results/<stamp>-analytics.md.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { clusterDir, clusterDown, clusterEnvVars, clusterUpOnFreePorts, readState, REPO_ROOT } from "../scripts/cluster/index";
import { freePort, startServer, type ServerProcess } from "../harness/server-process";
import { COUNTRY_DB_FILE, ANALYTICS_WORKER_FILE } from "../src/composition/paths";
import { ClickEnricher } from "../src/modules/analytics/click-enricher";
import { ClickLog } from "../src/modules/analytics/click-log";
import { numberFlag } from "./lib/args";
import { BUN, startChild, waitHttp } from "./lib/proc";
import { createLinks, writeCodesFile } from "./lib/seed";
import { runWrk } from "./lib/wrk";

const SECONDS = numberFlag(Bun.argv, "seconds", 8);
const ROUNDS = numberFlag(Bun.argv, "rounds", 3);
const NAME = `analytics-${process.pid}`;
const dir = join(REPO_ROOT, "bench/results", `.analytics-${process.pid}`);
mkdirSync(dir, { recursive: true });

await clusterUpOnFreePorts({ name: NAME, shards: 3, firstBase: 45_000, slots: 20 });
const cluster = clusterEnvVars(readState(clusterDir(REPO_ROOT, NAME)));
const env = { ...cluster, RATE_LIMIT_ENABLED: "false", LOG_LEVEL: "error", TRUSTED_PROXIES: "127.0.0.1" };
const LIMITS = { RATE_LIMIT_ENABLED: "true", RATE_LIMIT_REDIRECT_PER_MIN: "10000000" };
type Variant = { name: string; start: () => Promise<{ url: string; stop: () => Promise<void> }> };
const app = (extra: Record<string, string>) => async () => {
  const server: ServerProcess = await startServer({ ...env, ...extra, INSTANCE_ID: "62" });
  const ws = startChild("dashboard ws client", [BUN, "bench/lib/ws-client.ts", "--url", `${server.url.replace("http", "ws")}/ws`, "--topics", "events,metrics"]);
  await Bun.sleep(500);
  return {
    url: server.url,
    stop: async () => {
      await ws.stop();
      await server.stop();
    },
  };
};
const variants: Variant[] = [
  {
    name: "floor (Bun.serve + Redis GET + 302)",
    start: async () => {
      const port = await freePort();
      const floor = startChild("floor", [BUN, "bench/baselines/floor-server.ts"], { env: { PORT: String(port), REDIS_NODES: cluster.REDIS_NODES } });
      await waitHttp(`http://127.0.0.1:${port}/health/ready`);
      return {
        url: `http://127.0.0.1:${port}`,
        stop: async () => {
          await floor.stop();
        },
      };
    },
  },
  { name: "Shorten, rate limiting off, ANALYTICS_ENABLED=false", start: app({ ANALYTICS_ENABLED: "false" }) },
  { name: "Shorten, rate limiting off, analytics on", start: app({}) },
  // As shipped: rate limiting on (budgets above the load, so nothing is refused).
  { name: "Shorten, rate limiting on, ANALYTICS_ENABLED=false", start: app({ ...LIMITS, ANALYTICS_ENABLED: "false" }) },
  { name: "Shorten as shipped (rate limiting and analytics on)", start: app(LIMITS) },
];
const rps = new Map<string, number[]>(variants.map((v) => [v.name, []]));
try {
  const seed = await startServer({ ...env, INSTANCE_ID: "61" });
  const made = await createLinks(seed.url, Array.from({ length: 1000 }, (_, i) => `https://bench.example/an/${process.pid}/${i}`));
  await seed.stop();
  const codesFile = writeCodesFile(join(dir, "codes.txt"), made.map((m) => ({ ...m, hot: true })));
  for (let round = 0; round < ROUNDS; round++) {
    for (const v of variants) {
      const running = await v.start();
      try {
        const wrk = (durationS: number) => runWrk({ label: v.name, url: running.url, script: "redirects", env: { CODES_FILE: codesFile, HOT_SHARE: "1", MIX_HEADERS: "1", COUNT_HEADERS: "0" }, connections: 64, durationS });
        await wrk(3);
        const result = await wrk(SECONDS);
        rps.get(v.name)!.push(result.rps);
        console.log(`round ${round + 1} ${v.name}: ${Math.round(result.rps)} req/s, failed ${result.failed}`);
      } finally {
        await running.stop();
      }
    }
  }

  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const [floor, off, on, limitedOff, limitedOn] = variants.map((v) => mean(rps.get(v.name)!));
  const roundsOf = (a: number, b: number) => rps.get(variants[a]!.name)!.map((r, i) => (r / rps.get(variants[b]!.name)![i]!).toFixed(3)).join(", ");

  // One worker thread alone, fed what a second at the app's rate would log.
  const perSecond = Math.max(1000, Math.round(on!));
  const enricher = new ClickEnricher({ workerFile: ANALYTICS_WORKER_FILE, threads: 1, geoFile: COUNTRY_DB_FILE, agentCacheSize: 10_000, trustedProxies: ["127.0.0.1"] });
  const agents = ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"];
  const second = () => {
    const log = new ClickLog(perSecond);
    for (let i = 0; i < perSecond; i++) {
      // Distinct addresses, so every click is a new visitor: the sketches' worst case.
      const headers = new Headers({ "user-agent": agents[i % agents.length]!, "x-forwarded-for": `${(i % 200) + 11}.${(i >> 8) & 255}.${i & 255}.7`, referer: i % 3 ? "https://www.google.com/" : "", "accept-language": "en-US" });
      log.append(made[i % made.length]!.code, null, "127.0.0.1", headers, false);
    }
    return log.drain();
  };
  await enricher.enrich(second(), "salt", 0);
  const started = performance.now();
  let rows = 0;
  const batches = 5;
  for (let b = 0; b < batches; b++) {
    const { links } = await enricher.enrich(second(), "salt", 0);
    rows = links.reduce((n, l) => n + 1 + l.dims.length + (l.visitors.length > 0 ? 1 : 0), 0);
  }
  const enrichPerSecond = (batches * perSecond) / ((performance.now() - started) / 1000);
  await enricher.close();

  const report = [
    "# Click analytics: what it costs",
    "",
    `${new Date().toISOString()}: one server process at a time on a 3-shard cluster (fsync off), wrk -t1 -c64 for ${SECONDS} s over 1,000 hot codes with 8 header mixes per code (browsers on desktop, phone and tablet, Slackbot, Googlebot; referrers; languages; forwarded addresses of 7 countries), a dashboard WebSocket client on the app, ${ROUNDS} interleaved rounds after a 3 s warm-up each.`,
    "",
    "| server | redirects/s (mean) | ratio |",
    "| --- | --- | --- |",
    `| ${variants[0]!.name} | ${Math.round(floor!).toLocaleString("en")} | 1.00 |`,
    `| ${variants[1]!.name} | ${Math.round(off!).toLocaleString("en")} | ${(off! / floor!).toFixed(2)} of the floor |`,
    `| ${variants[2]!.name} | ${Math.round(on!).toLocaleString("en")} | **${(on! / off!).toFixed(3)}** of analytics off (rounds ${roundsOf(2, 1)}); ${(on! / floor!).toFixed(2)} of the floor |`,
    `| ${variants[3]!.name} | ${Math.round(limitedOff!).toLocaleString("en")} | ${(limitedOff! / floor!).toFixed(2)} of the floor |`,
    `| ${variants[4]!.name} | ${Math.round(limitedOn!).toLocaleString("en")} | **${(limitedOn! / limitedOff!).toFixed(3)}** of analytics off (rounds ${roundsOf(4, 3)}); ${(limitedOn! / floor!).toFixed(2)} of the floor |`,
    "",
    `One analytics worker thread: ${Math.round(enrichPerSecond).toLocaleString("en")} clicks/s enriched (batches of ${perSecond.toLocaleString("en")}, every click a new visitor), **${(enrichPerSecond / on!).toFixed(1)}x** the app's redirect rate. A second of clicks at that rate over 1,000 links writes ${rows.toLocaleString("en")} rollup rows (link, dimension and sketch rows), ${Math.round(rows / 3).toLocaleString("en")} per shard per flush.`,
  ].join("\n");
  const file = join(REPO_ROOT, "bench/results", `${new Date().toISOString().replace(/[:.]/g, "-").replace(/Z$/, "")}-analytics.md`);
  writeFileSync(file, `${report}\n`);
  console.log(`${report}\n\nreport: ${file}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
  await clusterDown({ name: NAME, wipe: true });
}
