import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { clusterState, pauseNode, resumeNode, startNode, stopNode } from "../../harness/cluster";
import { eventually } from "../../harness/server-process";
import { startSystem, uniqueUrl, type TestSystem } from "../../harness/system";

/**
 * Faults on the real processes of shard 0 (SIGKILL, pg_ctl stop -m immediate, SIGSTOP), with
 * the service composed in-process. Every code that got a 201 here must resolve at the end.
 */
const FAULT_SHARD = 0;
let sys: TestSystem;
const acknowledged = new Map<string, string>();
let shardCodes: string[] = [];

async function create(url = uniqueUrl("fault")) {
  const res = await sys.request("POST", "/create", { url });
  if (res.status === 201 || res.status === 200) {
    const body = (await res.json()) as { short_code: string };
    acknowledged.set(body.short_code, url);
    return { res, code: body.short_code, shard: Number(res.headers.get("x-shard")) };
  }
  return { res, code: null, shard: null };
}

async function read(code: string) {
  const t0 = performance.now();
  const res = await sys.request("GET", `/${code}`);
  return { res, status: res.status, source: res.headers.get("x-source"), location: res.headers.get("location"), ms: performance.now() - t0 };
}

beforeAll(async () => {
  // The hot-link cache off: these tests are about the storage path behind it.
  sys = await startSystem({ RATE_LIMIT_ENABLED: "false", REDIS_TIMEOUT_MS: "100", DB_TIMEOUT_MS: "400", BREAKER_COOLDOWN_MS: "300", HOT_CACHE_SIZE: "0" });
  while (shardCodes.length < 6) {
    const { code, shard } = await create();
    if (code && shard === FAULT_SHARD) shardCodes.push(code);
  }
  // Let the replica catch up so reads of these codes can be served by it.
  const replica = sys.composed.shards.at(FAULT_SHARD).replica.client;
  await eventually(async () => ((await replica`select count(*)::int as n from links where code = any(${shardCodes})`)[0]!.n === shardCodes.length ? true : undefined), "replica catch-up", 10_000);
});

afterAll(async () => {
  const state = clusterState();
  for (const role of ["redis", "primary", "replica"] as const) await startNode(state, FAULT_SHARD, role).catch(() => {});
  await sys.close();
});

describe("Redis node down", () => {
  test("redirects of its codes come from the database; creates still succeed; it heals", async () => {
    const state = clusterState();
    await stopNode(state, FAULT_SHARD, "redis", "kill");
    try {
      for (const code of shardCodes) {
        const r = await read(code);
        expect(r.status).toBe(302);
        expect(["replica", "primary"]).toContain(r.source!);
        expect(r.location).toBe(acknowledged.get(code)!);
      }
      for (let i = 0; i < 6; i++) expect([201, 200]).toContain((await create()).res.status);
    } finally {
      await startNode(state, FAULT_SHARD, "redis");
    }
    // Healing: the breaker closes after its cooldown and refilled values are served from Redis again.
    const healed = await eventually(async () => {
      const r = await read(shardCodes[0]!);
      return r.source === "redis" ? r : undefined;
    }, "Redis hits after restart", 15_000);
    expect(healed.status).toBe(302);
  });

  test("a hung Redis (SIGSTOP) costs at most the timeout budget, then the breaker skips it", async () => {
    const state = clusterState();
    const redisNode = sys.composed.shards.at(FAULT_SHARD).redis;
    await pauseNode(state, FAULT_SHARD, "redis");
    try {
      const timings: number[] = [];
      for (const code of [...shardCodes, ...shardCodes]) {
        const r = await read(code);
        expect(r.status).toBe(302);
        expect(r.location).toBe(acknowledged.get(code)!);
        timings.push(r.ms);
      }
      expect(redisNode.policy.state).toBe("open");
      // A hang without a timeout would never answer; with one, each read is bounded by the
      // Redis budget plus a database read, far below a second.
      expect(Math.max(...timings)).toBeLessThan(1500);
    } finally {
      await resumeNode(state, FAULT_SHARD, "redis");
    }
    await eventually(async () => ((await read(shardCodes[1]!)).source === "redis" ? true : undefined), "breaker closes after SIGCONT", 15_000);
    expect(redisNode.policy.state).toBe("closed");
  });
});

describe("replica down", () => {
  test("reads fall back to the primary and return to the replica once it is back", async () => {
    const state = clusterState();
    const redis = sys.composed.shards.at(FAULT_SHARD).redis.client;
    await stopNode(state, FAULT_SHARD, "replica", "immediate");
    try {
      for (const code of shardCodes) {
        await redis.del(`l:${code}`);
        const r = await read(code);
        expect(r.status).toBe(302);
        expect(r.source).toBe("primary");
      }
    } finally {
      await startNode(state, FAULT_SHARD, "replica");
    }
    await eventually(async () => {
      await redis.del(`l:${shardCodes[2]}`);
      return (await read(shardCodes[2]!)).source === "replica" ? true : undefined;
    }, "replica serves again", 20_000);
  });
});

describe("primary down", () => {
  test("reads come from the replica, creates go to other shards, nothing acknowledged is lost", async () => {
    const state = clusterState();
    const redis = sys.composed.shards.at(FAULT_SHARD).redis.client;
    await stopNode(state, FAULT_SHARD, "primary", "kill");
    try {
      for (const code of shardCodes) {
        await redis.del(`l:${code}`);
        const r = await read(code);
        expect(r.status).toBe(302);
        expect(r.source).toBe("replica");
      }
      const shards: number[] = [];
      for (let i = 0; i < 12; i++) {
        const c = await create();
        expect([201, 200]).toContain(c.res.status);
        shards.push(c.shard!);
      }
      expect(shards).not.toContain(FAULT_SHARD);
    } finally {
      await startNode(state, FAULT_SHARD, "primary");
    }
    // Heals: writes land on shard 0 again once its breaker closes.
    await eventually(async () => ((await create()).shard === FAULT_SHARD ? true : undefined), "writes return to the healed primary", 20_000);
  });
});

test("every code acknowledged during the faults resolves afterwards", async () => {
  expect(acknowledged.size).toBeGreaterThan(20);
  for (const [code, url] of acknowledged) {
    const r = await eventually(async () => {
      const x = await read(code);
      return x.status === 302 ? x : undefined;
    }, `code ${code}`, 10_000);
    expect(r.location).toBe(url);
  }
});
