import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { clusterState, findNode } from "../../harness/cluster";
import { startDelayProxy, type DelayProxy } from "../../harness/delay-proxy";
import { startServer, type ServerProcess } from "../../harness/server-process";
import { splitUrls } from "../../src/config";

/**
 * Slow nodes, not dead ones: every byte shard 0's Redis and its replica send back is held for
 * 200 ms, longer than REDIS_TIMEOUT_MS (a delaying proxy in front of each, harness/delay-proxy.ts:
 * this kernel has no netem). Redirects of shard 0's links must still all answer, each within the
 * configured timeouts of the path it takes (Redis, then the replica, then the primary), and once
 * the delay is gone they come from Redis again.
 */
const REDIS_TIMEOUT_MS = 100;
const DB_TIMEOUT_MS = 400;
const DELAY_MS = 200;
let server: ServerProcess;
const codes: Array<[string, string]> = [];
const latencies: number[] = [];
const statuses = new Map<number, number>();
const sources = new Map<string, number>();

let proxies: DelayProxy[] = [];

describe("latency on one Redis and one replica", () => {
  beforeAll(async () => {
    const state = clusterState();
    const redis = await startDelayProxy(findNode(state, 0, "redis").port);
    const replica = await startDelayProxy(findNode(state, 0, "replica").port);
    proxies = [redis, replica];
    const db = splitUrls(process.env.DATABASE_NODES!);
    db[1] = `postgres://postgres@127.0.0.1:${replica.port}/shorten`;
    const redisNodes = process.env.REDIS_NODES!.split(",");
    redisNodes[0] = `redis://127.0.0.1:${redis.port}`;
    // The hot-link cache off: every redirect goes to storage.
    server = await startServer({ DATABASE_NODES: db.join(","), REDIS_NODES: redisNodes.join(","), INSTANCE_ID: "46", HOT_CACHE_SIZE: "0", RATE_LIMIT_ENABLED: "false", REDIS_TIMEOUT_MS: String(REDIS_TIMEOUT_MS), DB_TIMEOUT_MS: String(DB_TIMEOUT_MS), BREAKER_COOLDOWN_MS: "500" });
    for (let i = 0; codes.length < 20 && i < 400; i++) {
      const url = `https://latency.example/${process.pid}/${i}`;
      const res = await fetch(`${server.url}/create`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ url }) });
      if (res.status === 201 && res.headers.get("x-shard") === "0") codes.push([((await res.json()) as { short_code: string }).short_code, url]);
    }
    await Bun.sleep(500); // the replica has the rows
    for (const p of proxies) p.delayMs = DELAY_MS;
    try {
      for (let i = 0; i < 150; i++) {
        const [code] = codes[i % codes.length]!;
        const t0 = performance.now();
        const res = await fetch(`${server.url}/${code}`, { redirect: "manual" });
        latencies.push(performance.now() - t0);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        const source = res.headers.get("x-source") ?? "none";
        sources.set(source, (sources.get(source) ?? 0) + 1);
      }
    } finally {
      for (const p of proxies) p.delayMs = 0;
    }
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    for (const p of proxies) p.stop();
  });

  test("every redirect answers, each within the timeouts of its path", () => {
    const sorted = [...latencies].sort((a, b) => a - b);
    const p99 = sorted[Math.floor(sorted.length * 0.99)]!;
    console.log(`${DELAY_MS} ms on shard 0's Redis and replica: p50 ${sorted[sorted.length >> 1]!.toFixed(0)} ms, p99 ${p99.toFixed(0)} ms, max ${sorted.at(-1)!.toFixed(0)} ms; sources ${JSON.stringify([...sources])}`);
    expect([...statuses]).toEqual([[302, latencies.length]]);
    // Worst path: Redis times out, then the replica's read and its two retries each take up to
    // DB_TIMEOUT_MS (a new connection through the slow link costs several delayed round trips);
    // plus a loaded box's slack.
    expect(sorted.at(-1)!).toBeLessThan(REDIS_TIMEOUT_MS + 3 * DB_TIMEOUT_MS + 300);
  });

  test("the slow Redis answers later than its timeout, so no redirect waits for it; the replica, slow but within DB_TIMEOUT_MS, serves", () => {
    expect(sources.get("redis") ?? 0).toBe(0);
    expect(sources.get("replica") ?? 0).toBeGreaterThan(latencies.length / 2);
  });

  test("once the delay is gone the redirects come from Redis again", async () => {
    const [code, url] = codes[0]!;
    let fromRedis = false;
    for (let i = 0; i < 50 && !fromRedis; i++) {
      const res = await fetch(`${server.url}/${code}`, { redirect: "manual" });
      expect(res.headers.get("location")).toBe(url);
      fromRedis = res.headers.get("x-source") === "redis";
      if (!fromRedis) await Bun.sleep(100);
    }
    expect(fromRedis).toBe(true);
  });
});
