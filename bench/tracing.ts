#!/usr/bin/env bun
/**
 * Tracing overhead, same run: `bun bench/tracing.ts [--seconds S (10)] [--rounds R (2)]`.
 * One throwaway cluster, an OTLP sink that accepts and drops spans, and three server processes
 * started one at a time (off, 1 % sampling, 100 % sampling), each loaded by wrk over 200 hot
 * codes for S seconds per round, rounds interleaved. Reports req/s and the server's RSS after
 * each run, as ratios to "off". Writes bench/results/<stamp>-tracing.md.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { clusterDir, clusterDown, clusterEnvVars, clusterUpOnFreePorts, readState, REPO_ROOT } from "../scripts/cluster/index";
import { startServer, type ServerProcess } from "../harness/server-process";

const arg = (name: string, fallback: number) => {
  const i = Bun.argv.indexOf(`--${name}`);
  return i > 0 ? Number(Bun.argv[i + 1]) : fallback;
};
const SECONDS = arg("seconds", 10);
const ROUNDS = arg("rounds", 2);
const NAME = `tracing-${process.pid}`;
let spans = 0;
const sink = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: async (r) => ((spans += (await r.text()).split('"spanId"').length - 1), Response.json({})) });

await clusterUpOnFreePorts({ name: NAME, shards: 3, firstBase: 45_000, slots: 20 });
const env = { ...clusterEnvVars(readState(clusterDir(REPO_ROOT, NAME))), RATE_LIMIT_ENABLED: "false", LOG_LEVEL: "error" };
const variants: Array<{ name: string; env: Record<string, string> }> = [
  { name: "off", env: {} },
  { name: "1%", env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `http://127.0.0.1:${sink.port}/v1/traces`, OTEL_TRACES_SAMPLER_ARG: "0.01" } },
  { name: "100%", env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `http://127.0.0.1:${sink.port}/v1/traces`, OTEL_TRACES_SAMPLER_ARG: "1" } },
];
const results = new Map<string, { rps: number[]; rssMb: number[] }>(variants.map((v) => [v.name, { rps: [], rssMb: [] }]));
const rss = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;
let server: ServerProcess | null = null;
try {
  const seed = await startServer({ ...env, INSTANCE_ID: "61" });
  const codes: string[] = [];
  for (let i = 0; i < 200; i++) {
    const res = await fetch(`${seed.url}/create`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ url: `https://example.com/tr/${i}/${crypto.randomUUID()}` }) });
    codes.push(((await res.json()) as { short_code: string }).short_code);
  }
  await seed.stop();
  const lua = join(REPO_ROOT, `bench/results/.tracing-${process.pid}.lua`);
  writeFileSync(lua, `local codes = {${codes.map((c) => `"/${c}"`).join(",")}}\nlocal i = 0\nrequest = function() i = i + 1; return wrk.format("GET", codes[(i % #codes) + 1]) end\n`);
  for (let round = 0; round < ROUNDS; round++) {
    for (const v of variants) {
      server = await startServer({ ...env, ...v.env, INSTANCE_ID: "62" });
      // Warm up the JIT and the hot-link cache before measuring.
      Bun.spawnSync(["wrk", "-t1", "-c32", "-d3s", "-s", lua, server.url]);
      const out = Bun.spawnSync(["wrk", "-t1", "-c64", `-d${SECONDS}s`, "-s", lua, server.url]).stdout.toString();
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
      results.get(v.name)!.rps.push(rps);
      results.get(v.name)!.rssMb.push(rss(server.proc.pid));
      await server.stop();
      server = null;
      console.log(`round ${round + 1} ${v.name}: ${Math.round(rps)} req/s, RSS ${results.get(v.name)!.rssMb.at(-1)!.toFixed(0)} MB`);
    }
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const off = results.get("off")!;
  const rows = variants.map((v) => {
    const r = results.get(v.name)!;
    return `| ${v.name} | ${Math.round(mean(r.rps)).toLocaleString("en")} | ${(mean(r.rps) / mean(off.rps)).toFixed(2)} | ${mean(r.rssMb).toFixed(0)} | ${(mean(r.rssMb) / mean(off.rssMb)).toFixed(2)} |`;
  });
  const report = [
    "# Tracing overhead",
    "",
    `${new Date().toISOString()}: one server process per variant on a 3-shard cluster, wrk -t1 -c64 for ${SECONDS} s over 200 hot codes (hot-link cache hits), ${ROUNDS} interleaved rounds, after a 3 s warm-up; spans exported over OTLP/HTTP to a sink that drops them (${spans.toLocaleString("en")} spans received).`,
    "",
    "| tracing | redirects/s | ratio to off | RSS after the run, MB | ratio to off |",
    "| --- | --- | --- | --- | --- |",
    ...rows,
  ].join("\n");
  const file = join(REPO_ROOT, "bench/results", `${new Date().toISOString().replace(/[:.]/g, "-").replace(/Z$/, "")}-tracing.md`);
  mkdirSync(join(REPO_ROOT, "bench/results"), { recursive: true });
  writeFileSync(file, `${report}\n`);
  console.log(`${report}\n\nreport: ${file}`);
  Bun.spawnSync(["rm", "-f", lua]);
} finally {
  await server?.stop();
  sink.stop(true);
  await clusterDown({ name: NAME, wipe: true });
}
