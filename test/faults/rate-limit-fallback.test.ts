import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { HashRing } from "../../src/domain/ring";
import { clusterState, startNode, stopNode } from "../support/cluster";
import { startSystem, uniqueUrl, type TestSystem } from "../support/system";

/** RATE_LIMIT_WHEN_REDIS_DOWN decides what happens when the client's Redis node is down. */
const SHARD = 1;
const systems: Record<string, TestSystem> = {};

function peerOnShard(shard: number): string {
  const ring = new HashRing(3);
  for (;;) {
    const ip = `203.0.113.${Math.floor(Math.random() * 250)}-${crypto.randomUUID().slice(0, 6)}`;
    if (ring.shardFor(ip) === shard) return ip;
  }
}

beforeAll(async () => {
  for (const mode of ["memory", "allow", "deny"]) {
    systems[mode] = await startSystem({ RATE_LIMIT_CREATE_PER_MIN: "3", RATE_LIMIT_WHEN_REDIS_DOWN: mode, REDIS_TIMEOUT_MS: "100", BREAKER_COOLDOWN_MS: "300" });
  }
  await stopNode(clusterState(), SHARD, "redis", "kill");
});

afterAll(async () => {
  await startNode(clusterState(), SHARD, "redis");
  await Promise.all(Object.values(systems).map((s) => s.close()));
});

async function statuses(sys: TestSystem, peer: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await sys.request("POST", "/create", { url: uniqueUrl("rl-down") }, { peer })).status);
  return out;
}

describe("rate limiting while the client's Redis node is down", () => {
  test("memory: the same limit holds, per instance", async () => {
    expect(await statuses(systems.memory!, peerOnShard(SHARD), 4)).toEqual([201, 201, 201, 429]);
  });
  test("allow: requests pass unlimited", async () => {
    expect(await statuses(systems.allow!, peerOnShard(SHARD), 5)).toEqual([201, 201, 201, 201, 201]);
  });
  test("deny: requests are refused with 429", async () => {
    expect(await statuses(systems.deny!, peerOnShard(SHARD), 2)).toEqual([429, 429]);
  });
});
