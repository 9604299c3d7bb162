#!/usr/bin/env bun
/**
 * Where p99 at a fixed rate comes from: the floor and app variants (extra env each) served one at
 * a time, alternating, over 1,000 hot codes on one throwaway cluster; an open-loop run at `rate`
 * each, reporting p50/p99/max and, for the app, how often its event loop ran late (the
 * shorten_event_loop_delay_seconds buckets over the run). A tail with no late loop samples is
 * not the server's event loop: it is the generator's or the machine's scheduling.
 *
 *   bun bench/p99-ab.ts [--rate 25000 | --max] [--rounds 3] [--seconds 12] [name:KEY=V,KEY=V ...]
 *
 * --max: closed loop at max load instead (wrk -t1 -c64), reporting req/s and wrk's p99.
 * Without variants: the floor and the app as shipped (`shipped:`).
 */
import { join } from "node:path";
import { clusterDown, clusterEnvVars, readState } from "../scripts/cluster/index";
import { freePort } from "../harness/server-process";
import { numberFlag } from "./lib/args";
import { delta, loopDelaySummary, scrape } from "./lib/backend-metrics";
import { installSignalCleanup, onCleanup, runCleanup } from "./lib/cleanup";
import { openLoop } from "./lib/open-loop";
import { BUN, ROOT, startChild, waitHttp } from "./lib/proc";
import { createLinks, writeCodesFile } from "./lib/seed";
import { bootCluster, INSTANCE_ENV, startFloor } from "./lib/stack";
import { runWrk } from "./lib/wrk";

installSignalCleanup();
const argv = Bun.argv.slice(2);
const rate = numberFlag(argv, "rate", 25_000);
const rounds = numberFlag(argv, "rounds", 3);
const seconds = numberFlag(argv, "seconds", 12);
const atMax = argv.includes("--max");
const named = argv.filter((a) => /^[\w-]+:/.test(a));
const variants = (named.length > 0 ? named : ["shipped:"]).map((v) => {
  const [name, pairs = ""] = [v.slice(0, v.indexOf(":")), v.slice(v.indexOf(":") + 1)];
  return { name, env: Object.fromEntries(pairs.split(",").filter(Boolean).map((p) => [p.slice(0, p.indexOf("=")), p.slice(p.indexOf("=") + 1)])) };
});
const name = `bench-p99-${process.pid}`;
const lines = new Map<string, string[]>();

try {
  onCleanup(`cluster ${name}`, () => clusterDown({ name, wipe: true }));
  await bootCluster(name);
  const env = clusterEnvVars(readState(join(ROOT, ".cluster", name)));
  let codesFile = "";
  const serve = async (variant: { name: string; env: Record<string, string> } | null) => {
    if (variant === null) {
      const floor = await startFloor(env.REDIS_NODES!);
      return { url: `http://127.0.0.1:${floor.port}`, stop: floor.stop, app: false };
    }
    const port = await freePort();
    const app = startChild(variant.name, [BUN, "src/main.ts"], { env: { ...env, ...INSTANCE_ENV, HOST: "127.0.0.1", PORT: String(port), INSTANCE_ID: "7", OBSERVABILITY_PUBLIC: "true", ...variant.env } });
    const url = `http://127.0.0.1:${port}`;
    await waitHttp(`${url}/health/ready`);
    return { url, stop: () => app.stop(15_000).then(() => {}), app: true };
  };
  for (let r = 0; r < rounds; r++) {
    for (const variant of [null, ...variants]) {
      const label = variant?.name ?? "floor";
      const server = await serve(variant);
      try {
        if (codesFile === "") {
          const seeder = server.app ? server : await serve(variants[0]!);
          const made = await createLinks(seeder.url, Array.from({ length: 1000 }, (_, i) => `https://bench.example/p99/${process.pid}/${i}`));
          if (seeder !== server) await seeder.stop();
          codesFile = writeCodesFile(join(ROOT, "bench/results", `.p99-codes-${process.pid}.txt`), made.map((m) => ({ ...m, hot: true })));
        }
        await runWrk({ label: "warm-up", url: server.url, script: "redirects", env: { CODES_FILE: codesFile, HOT_SHARE: "1" }, connections: 16, durationS: 2 });
        const before = server.app ? await scrape([server.url]) : null;
        const res = atMax
          ? await runWrk({ label, url: server.url, script: "redirects", env: { CODES_FILE: codesFile, HOT_SHARE: "1" }, connections: 64, durationS: seconds })
          : await openLoop({ url: server.url, codesFile, rate, durationS: seconds, connections: 64, hotShare: 1, label });
        const loop = before ? loopDelaySummary([delta(before, await scrape([server.url]))], 0.99, 2) : null;
        const line = `${atMax ? `${Math.round(res.rps)} req/s, ` : ""}p50 ${res.latencyMs.p50.toFixed(2)} p99 ${res.latencyMs.p99.toFixed(2)} max ${res.latencyMs.max.toFixed(1)} ms, dropped ${res.dropped ?? 0}${loop ? `; loop samples ${loop.samples}, later than 2 ms: ${loop.over}` : ""}`;
        console.log(`round ${r + 1} ${label}: ${line}`);
        lines.set(label, [...(lines.get(label) ?? []), line]);
      } finally {
        await server.stop();
      }
    }
  }
  console.log(`\n${atMax ? "max load (wrk -t1 -c64)" : `open loop at ${rate}/s`} for ${seconds} s, 1,000 hot codes, ${rounds} round(s) alternating:`);
  for (const [label, ls] of lines) console.log(`${label}\n  ${ls.join("\n  ")}`);
} finally {
  await runCleanup();
}
