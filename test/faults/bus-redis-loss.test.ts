import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { clusterState, startNode, stopNode } from "../../harness/cluster";
import { eventually, startServer, type ServerProcess } from "../../harness/server-process";
import { uniqueUrl } from "../../harness/system";
import { parseConfig, type Config } from "../../src/config";
import { makeKey, revokeKeyNow } from "../support/keys";
import { connect } from "../events/ws-client";

/**
 * What losing the event/control bus costs. The bus is a plain Redis (EVENT_BUS_REDIS, by default
 * shard 0's), not one under Sentinel: this file shows that while it is gone, nothing stored is
 * lost and nothing served goes wrong for longer than a configured bound. Two real instances;
 * shard 0's Redis SIGKILLed. What rides on the bus, and its fallback:
 *  - cache invalidations after an edit: the other instance's hot-link cache expires by age (HOT_CACHE_TTL_MS);
 *  - key revocations: every instance polls the catalog (KEYS_POLL_MS);
 *  - the live event stream between instances: each instance's own events only, until it is back.
 */
const HOT_TTL_MS = 1000;
const KEYS_POLL_MS = 500;
let a: ServerProcess;
let b: ServerProcess;
let config: Config;

beforeAll(async () => {
  const parsed = parseConfig(process.env);
  if (!parsed.ok) throw new Error(parsed.message);
  config = parsed.config;
  const env = { RATE_LIMIT_ENABLED: "false", EVENT_FLUSH_MS: "20", REDIS_TIMEOUT_MS: "100", BREAKER_COOLDOWN_MS: "300", HOT_CACHE_TTL_MS: String(HOT_TTL_MS), KEYS_POLL_MS: String(KEYS_POLL_MS) };
  [a, b] = await Promise.all([startServer({ ...env, INSTANCE_ID: "21" }), startServer({ ...env, INSTANCE_ID: "22" })]);
});

afterAll(async () => {
  await startNode(clusterState(), 0, "redis").catch(() => {});
  await Promise.all([a?.stop(), b?.stop()]);
});

const bearer = (key: string) => ({ authorization: `Bearer ${key}`, "content-type": "application/json" });
const location = async (s: ServerProcess, code: string) => (await fetch(`${s.url}/${code}`, { redirect: "manual" })).headers.get("location");

describe("the bus Redis lost", () => {
  test("an edit on one instance reaches the other's redirects within the hot cache's age; a revoked key is refused by both within the poll; both keep serving and storing", async () => {
    const key = await makeKey(config, "bus-loss");
    const before = uniqueUrl("bus-before");
    const created = await fetch(`${a.url}/create`, { method: "POST", headers: bearer(key.text), body: JSON.stringify({ url: before }) });
    expect(created.status).toBe(201);
    const code = ((await created.json()) as { short_code: string }).short_code;
    // In b's hot-link cache before the bus goes.
    for (let i = 0; i < 3; i++) expect(await location(b, code)).toBe(before);

    await stopNode(clusterState(), 0, "redis", "kill");
    try {
      const after = uniqueUrl("bus-after");
      const edited = await fetch(`${a.url}/api/links/${code}`, { method: "PATCH", headers: bearer(key.text), body: JSON.stringify({ url: after }) });
      expect(edited.status).toBe(200);
      const editedAt = performance.now();
      await eventually(async () => ((await location(b, code)) === after ? true : undefined), "b serving the edit", HOT_TTL_MS + 5000);
      console.log(`bus down: b served the edit ${Math.round(performance.now() - editedAt)} ms after it (hot cache age ${HOT_TTL_MS} ms, no invalidation)`);

      // Stored while the bus is down, served by the other instance.
      const made = await fetch(`${b.url}/create`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ url: uniqueUrl("bus-down") }) });
      expect(made.status).toBe(201);
      expect(await location(a, ((await made.json()) as { short_code: string }).short_code)).toStartWith("https://");

      await revokeKeyNow(config, key.id);
      const revokedAt = performance.now();
      for (const s of [a, b]) {
        await eventually(async () => ((await fetch(`${s.url}/api/links`, { headers: bearer(key.text) })).status === 401 ? true : undefined), `instance ${s.port} refusing the revoked key`, KEYS_POLL_MS + 5000);
      }
      console.log(`bus down: the revoked key refused by both instances ${Math.round(performance.now() - revokedAt)} ms after the revocation (poll ${KEYS_POLL_MS} ms)`);
    } finally {
      await startNode(clusterState(), 0, "redis");
    }
  }, 60_000);

  test("back: the other instance's events reach a stream client again", async () => {
    const client = await connect(`ws://127.0.0.1:${a.port}/ws?topics=events`);
    try {
      await eventually(async () => {
        const res = await fetch(`${b.url}/create`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ url: uniqueUrl("bus-back") }) });
        const made = ((await res.json()) as { short_code: string }).short_code;
        await Bun.sleep(200);
        return client.events().some((e) => e.short_code === made && e.node === "instance-22") ? true : undefined;
      }, "instance-22's events on instance-21's stream", 20_000);
    } finally {
      client.close();
    }
  }, 30_000);
});
