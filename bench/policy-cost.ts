#!/usr/bin/env bun
/**
 * What the node policy costs a Redis call: a private redis-server on a free port, 64 calls in
 * flight, `--calls` GETs (default 200,000) through each wrapper, three rounds; CPU µs per call
 * from process.cpuUsage. Rows: the bare ioredis GET, the same through redisCall (deadline +
 * breaker), through getCachedLink (the redirect's read, value decoded too).
 *
 *   bun bench/policy-cost.ts [--calls 200000]
 */
import { freePort } from "../harness/server-process";
import { findBinaries } from "../scripts/cluster/binaries";
import { getCachedLink } from "../src/storage/link-cache";
import { closeRedisNode, createRedisNode, redisCall } from "../src/storage/nodes";
import { numberFlag } from "./lib/args";

const CONCURRENCY = 64;
const calls = numberFlag(Bun.argv.slice(2), "calls", 200_000);
const port = await freePort();
const redis = Bun.spawn([findBinaries().redisServer, "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdout: "ignore", stderr: "ignore" });
const node = createRedisNode("bench", `redis://127.0.0.1:${port}`, { timeoutMs: 100, retries: 0, breakAfter: 5, halfOpenAfterMs: 2000 });
try {
  await new Promise((resolve) => node.client.once("ready", resolve));
  await node.client.set("l:abc", "https://example.com/landing");
  const measure = async (name: string, call: () => Promise<unknown>) => {
    const cpu = process.cpuUsage();
    let started = 0;
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (started++ < calls) await call();
    }));
    const used = process.cpuUsage(cpu);
    console.log(`${name.padEnd(16)} ${((used.user + used.system) / calls).toFixed(2)} µs CPU per call`);
  };
  for (let round = 1; round <= 3; round++) {
    console.log(`round ${round}`);
    await measure("bare GET", () => node.client.get("l:abc"));
    await measure("redisCall", () => redisCall(node, (r) => r.get("l:abc"), { idempotent: true }));
    await measure("getCachedLink", () => getCachedLink(node, "abc"));
  }
} finally {
  await closeRedisNode(node);
  redis.kill();
  await redis.exited;
}
