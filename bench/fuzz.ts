#!/usr/bin/env bun
/**
 * The long fuzz run: `bun bench/fuzz.ts [--requests N (100000)] [--concurrency C (32)]`.
 * Boots a throwaway cluster and one real server process (rate limiting off), sends N requests
 * from the same generator as the fuzz suite (harness/fuzz-requests.ts) over real HTTP on
 * loopback, and reports the status counts, every 5xx, and whether stored links still resolve.
 * Writes bench/results/<stamp>-fuzz.md. Exit 1 on any 5xx.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { clusterDown, clusterEnvVars, clusterUpOnFreePorts, readState, clusterDir, REPO_ROOT } from "../scripts/cluster/index";
import { fuzzRequest, toRequest } from "../harness/fuzz-requests";
import { startServer } from "../harness/server-process";

const arg = (name: string, fallback: number) => {
  const i = Bun.argv.indexOf(`--${name}`);
  return i > 0 ? Number(Bun.argv[i + 1]) : fallback;
};
const REQUESTS = arg("requests", 100_000);
const CONCURRENCY = arg("concurrency", 32);
const NAME = `fuzz-${process.pid}`;

await clusterUpOnFreePorts({ name: NAME, shards: 3, firstBase: 41_000, slots: 40 });
const cluster = clusterEnvVars(readState(clusterDir(REPO_ROOT, NAME)));
const server = await startServer({ ...cluster, RATE_LIMIT_ENABLED: "false", LOG_LEVEL: "error", INSTANCE_ID: "60" });
const counts = new Map<number, number>();
const fiveXX: string[] = [];
let errors = 0;
const started = performance.now();
try {
  const stored: Array<[string, string]> = [];
  for (let i = 0; i < 20; i++) {
    const url = `https://example.com/fuzz-keep/${i}/${crypto.randomUUID()}`;
    const res = await fetch(`${server.url}/create`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ url }) });
    stored.push([((await res.json()) as { short_code: string }).short_code, url]);
  }
  const samples = fc.sample(fuzzRequest, { numRuns: REQUESTS, seed: 42 });
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < samples.length) {
        const r = samples[next++]!;
        try {
          const res = await fetch(toRequest(server.url, r), { redirect: "manual", signal: AbortSignal.timeout(15_000) });
          const body = await res.text();
          counts.set(res.status, (counts.get(res.status) ?? 0) + 1);
          if (res.status >= 500) fiveXX.push(`${r.method} ${r.path.slice(0, 120)} → ${res.status} ${body.slice(0, 160)}`);
        } catch {
          // A request the client itself could not send (e.g. a header fetch refuses): not the server's answer.
          errors++;
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const ready = (await fetch(`${server.url}/health/ready`)).status;
  let resolved = 0;
  for (const [code, url] of stored) if ((await fetch(`${server.url}/${code}`, { redirect: "manual" })).headers.get("location") === url) resolved++;
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  const statusLine = [...counts].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}: ${n}`).join(", ");
  const report = [
    `# Fuzz run`,
    ``,
    `${new Date().toISOString()}: ${REQUESTS.toLocaleString("en")} generated requests (seed 42), ${CONCURRENCY} at a time, over HTTP to one server process on a 3-shard cluster, in ${seconds.toFixed(1)} s.`,
    ``,
    `- answered: ${total.toLocaleString("en")}; not sent by the client (fetch refused the request): ${errors}`,
    `- 5xx: **${fiveXX.length}**`,
    `- statuses: ${statusLine}`,
    `- afterwards: /health/ready ${ready}; ${resolved}/${stored.length} links stored before still resolve`,
    ...(fiveXX.length ? ["", "5xx answers:", ...fiveXX.slice(0, 50).map((l) => `- ${l}`)] : []),
  ].join("\n");
  const dir = join(REPO_ROOT, "bench/results");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${new Date().toISOString().replace(/[:.]/g, "-").replace(/Z$/, "")}-fuzz.md`);
  writeFileSync(file, `${report}\n`);
  console.log(report);
  console.log(`\nreport: ${file}`);
  process.exitCode = fiveXX.length === 0 && ready === 200 && resolved === stored.length ? 0 : 1;
} finally {
  await server.stop();
  await clusterDown({ name: NAME, wipe: true });
}
