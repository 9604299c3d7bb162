import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { gcraParams } from "../../src/domain/gcra";
import { HashRing } from "../../src/domain/ring";
import { MemoryAdmission } from "../../src/modules/ratelimit/memory-admission";
import { clusterState, startNode, stopNode } from "../../harness/cluster";
import { eventually } from "../../harness/eventually";
import { makeKey } from "../support/keys";
import { startSystem, uniqueUrl, type TestSystem } from "../../harness/system";

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

/** A new API key whose own budget lives on `shard`'s Redis. */
async function keyOnShard(sys: TestSystem, shard: number): Promise<{ id: string; text: string }> {
  const ring = new HashRing(3);
  for (;;) {
    const key = await makeKey(sys.config, "rl-down");
    if (ring.shardFor(`key:${key.id}`) === shard) return key;
  }
}

/** Bulk of `n` with a key whose budget is on the dead node, from an address whose buckets are not. */
async function bulkOnDeadNode(sys: TestSystem, n: number): Promise<{ status: number; created: number; limited: number }> {
  const key = await keyOnShard(sys, SHARD);
  const links = Array.from({ length: n }, () => ({ url: uniqueUrl("rl-down-bulk") }));
  const res = await sys.request("POST", "/api/links/bulk", { links }, { headers: { authorization: `Bearer ${key.text}` }, peer: peerOnShard(0) });
  const body = (await res.json()) as { results?: Array<{ error?: { code: string } }>; created?: number };
  return { status: res.status, created: body.created ?? 0, limited: (body.results ?? []).filter((r) => r.error?.code === "rate-limited").length };
}

beforeAll(async () => {
  for (const mode of ["memory", "allow", "deny"]) {
    systems[mode] = await startSystem({ RATE_LIMIT_CREATE_PER_MIN: "3", RATE_LIMIT_KEY_PER_MIN: "6", RATE_LIMIT_WHEN_REDIS_DOWN: mode, REDIS_TIMEOUT_MS: "100", BREAKER_COOLDOWN_MS: "300" });
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
  // Anonymous creates are admitted in memory, as redirects are: the mode decides once the
  // budget's sync has found the client's Redis down (the test runs that sync itself).
  test("allow: once a sync finds the node down, creates pass unlimited", async () => {
    const peer = peerOnShard(SHARD);
    expect(await statuses(systems.allow!, peer, 1)).toEqual([201]);
    await systems.allow!.composed.createAdmission!.sync();
    expect(await statuses(systems.allow!, peer, 5)).toEqual([201, 201, 201, 201, 201]);
  });
  test("deny: decided in memory until a sync finds the node down, then refused with 429", async () => {
    const peer = peerOnShard(SHARD);
    expect(await statuses(systems.deny!, peer, 1)).toEqual([201]);
    await systems.deny!.composed.createAdmission!.sync();
    expect(await statuses(systems.deny!, peer, 2)).toEqual([429, 429]);
  });

  test("memory: a bulk call still pays per link, out of the per-instance bucket", async () => {
    // 6 tokens: 1 for the call, 5 links; the other 5 are refused per item.
    expect(await bulkOnDeadNode(systems.memory!, 10)).toEqual({ status: 200, created: 5, limited: 5 });
  });
  test("allow: a bulk call creates everything", async () => {
    expect(await bulkOnDeadNode(systems.allow!, 10)).toEqual({ status: 200, created: 10, limited: 0 });
  });
  test("deny: a bulk call is refused whole", async () => {
    expect((await bulkOnDeadNode(systems.deny!, 10)).status).toBe(429);
  });

  test.each([
    ["memory", [true, true, true, false], [false, false]],
    ["allow", [true, true, true, false], [true, true]],
    ["deny", [true, true, true, false], [false, false]],
  ] as const)("redirects (%s): decided in memory; once a sync finds the client's Redis down, the mode decides", async (mode, before, after) => {
    const admission = new MemoryAdmission({ bucket: "redirect", shards: systems[mode]!.composed.shards, shardFor: () => SHARD, params: gcraParams({ perMinute: 3 }), whenRedisDown: mode, syncMs: 60_000 });
    const peer = peerOnShard(SHARD);
    expect(before.map(() => admission.admit(peer, 1).allowed)).toEqual([...before]);
    await admission.sync();
    const decisions = after.map(() => admission.admit(peer, 1));
    expect(decisions.map((d) => d.allowed)).toEqual([...after]);
    expect(decisions[0]!.store).toBe(mode === "memory" ? "memory" : "none");
  });

  // Last: it brings the node back.
  test("redirects (deny): once the client's Redis is back, the next sync finds it and the budget admits again", async () => {
    const admission = new MemoryAdmission({ bucket: "redirect", shards: systems.deny!.composed.shards, shardFor: () => SHARD, params: gcraParams({ perMinute: 60 }), whenRedisDown: "deny", syncMs: 60_000 });
    const peer = peerOnShard(SHARD);
    expect(admission.admit(peer, 1).allowed).toBe(true);
    await admission.sync();
    expect(admission.admit(peer, 1).allowed).toBe(false);
    await startNode(clusterState(), SHARD, "redis");
    // Nothing is owed while refused, so the sync asks the node whether it is back (past the breaker's cooldown).
    await eventually(async () => {
      await admission.sync();
      return admission.admit(peer, 1).allowed ? true : undefined;
    }, "the budget to admit again once the node is back", 10_000);
  });
});
