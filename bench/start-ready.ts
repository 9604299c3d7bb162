#!/usr/bin/env bun
/**
 * How long `npm start` takes to a ready server (GET /health/ready 200), in the configuration
 * users get (3 shards under pg_auto_failover, fsync on): from a fresh machine's point of view
 * (no cluster yet; the one-off initdb template included) and again on the stopped cluster, each
 * ROUNDS times, and when the pairs can fail over (`cluster: up … armed`).
 *
 *   bun bench/start-ready.ts [--rounds 3]
 */
import { parseArgs } from "node:util";
import { clusterDown } from "../scripts/cluster/index";
import { freePort } from "../harness/server-process";

const { values } = parseArgs({ args: Bun.argv.slice(2), options: { rounds: { type: "string", default: "3" } } });
const ROUNDS = Number(values.rounds);
const NAME = `start-ready-${process.pid}`;
const BASE_PORT = 29_500;

interface Run {
  ready: number;
  armed: number;
}

async function startOnce(): Promise<Run> {
  const port = await freePort();
  const t0 = performance.now();
  const proc = Bun.spawn([process.execPath, "scripts/start-local.ts", "--name", NAME, "--base-port", String(BASE_PORT)], {
    cwd: `${import.meta.dir}/..`,
    env: { ...process.env, PORT: String(port), METRICS_PORT: String(await freePort()), LOG_LEVEL: "warn" },
    stdout: "pipe",
    stderr: "inherit",
  });
  let ready = 0;
  let armed = 0;
  const reader = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of proc.stdout as ReadableStream<Uint8Array>) {
      const text = decoder.decode(chunk);
      if (armed === 0 && /cluster: up in/.test(text)) armed = performance.now() - t0;
    }
  })();
  for (const deadline = t0 + 120_000; performance.now() < deadline && ready === 0; await Bun.sleep(50)) {
    if (await fetch(`http://127.0.0.1:${port}/health/ready`, { signal: AbortSignal.timeout(2000) }).then((r) => r.ok, () => false)) ready = performance.now() - t0;
  }
  for (const deadline = performance.now() + 120_000; armed === 0 && performance.now() < deadline; ) await Bun.sleep(100);
  proc.kill("SIGTERM");
  await proc.exited;
  await reader;
  if (ready === 0 || armed === 0) throw new Error(`start did not reach ${ready === 0 ? "ready" : "armed"} within 120 s`);
  return { ready, armed };
}

const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const rows: string[] = [];
try {
  for (let i = 0; i < ROUNDS; i++) {
    await clusterDown({ name: NAME, wipe: true });
    const fresh = await startOnce();
    await clusterDown({ name: NAME });
    const again = await startOnce();
    rows.push(`| ${i + 1} | ${s(fresh.ready)} | ${s(fresh.armed)} | ${s(again.ready)} | ${s(again.armed)} |`);
    console.log(rows.at(-1));
  }
} finally {
  await clusterDown({ name: NAME, wipe: true });
}
console.log(`\nnpm start to a ready server, 3 shards under pg_auto_failover (${new Date().toISOString().slice(0, 10)})\n`);
console.log("| round | fresh: ready | fresh: failover armed | restart: ready | restart: failover armed |\n| --- | --- | --- | --- | --- |");
console.log(rows.join("\n"));
