import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import type { Config } from "../../src/config";
import { connect, open, type RecordingSocket } from "../events/ws-client";
import { makeKey, revokeKeyNow } from "../support/keys";
import { eventually, freePort, startServer, type ServerProcess } from "../../harness/server-process";
import { clusterConfig, uniqueUrl } from "../../harness/system";

/**
 * Who may watch, on real server processes in the default (closed) mode: two instances on one
 * cluster, keys made in the real catalog, revocations through the real bus.
 */
const ADMIN_TOKEN = "observability-admin-token-0123";
let a: ServerProcess;
let b: ServerProcess;
let metricsPort: number;
let config: Config;
let admin: { id: string; text: string };
let alice: { id: string; text: string };
let bob: { id: string; text: string };

beforeAll(async () => {
  config = clusterConfig();
  [admin, alice, bob] = await Promise.all([makeKey(config, "ops", "admin"), makeKey(config, "alice"), makeKey(config, "bob")]);
  metricsPort = await freePort();
  const env = { OBSERVABILITY_PUBLIC: "false", RATE_LIMIT_ENABLED: "false", EVENT_FLUSH_MS: "20", KEYS_POLL_MS: "500", WS_AUTH_TIMEOUT_MS: "700", ADMIN_TOKEN };
  [a, b] = await Promise.all([startServer({ ...env, INSTANCE_ID: "41", METRICS_PORT: String(metricsPort) }), startServer({ ...env, INSTANCE_ID: "42" })]);
});
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
});

const ws = (s: ServerProcess, query = "") => `ws://127.0.0.1:${s.port}/ws${query}`;
const bearer = (text: string) => ({ authorization: `Bearer ${text}` });

async function createOwned(s: ServerProcess, key: string): Promise<string> {
  const res = await fetch(`${s.url}/create`, { method: "POST", headers: { "content-type": "application/json", ...bearer(key) }, body: JSON.stringify({ url: uniqueUrl("own") }) });
  expect(res.status).toBe(201);
  return ((await res.json()) as { short_code: string }).short_code;
}

const visit = (s: ServerProcess, code: string) => fetch(`${s.url}/${code}`, { redirect: "manual" });
const codesOf = (socket: RecordingSocket) => new Set(socket.events().map((e) => e.short_code));

describe("observability routes need an admin", () => {
  for (const path of ["/api/metrics", "/metrics", "/api/topology"]) {
    test(`${path}: none 401, wrong 401, ordinary key 403, admin key and admin token 200`, async () => {
      const status = async (headers: Record<string, string>) => (await fetch(`${a.url}${path}`, { headers })).status;
      const none = await fetch(`${a.url}${path}`);
      expect(none.status).toBe(401);
      expect(((await none.json()) as { error: { code: string; message: string } }).error.message).toContain("admin key");
      expect(await status(bearer("shk_AAAAAAAA_wrongwrongwrongwrongwrong"))).toBe(401);
      expect(await status(bearer(alice.text))).toBe(403);
      expect(await status(bearer(admin.text))).toBe(200);
      expect(await status({ "x-api-key": admin.text })).toBe(200);
      expect(await status(bearer(ADMIN_TOKEN))).toBe(200);
    });
  }

  test("the dashboard page itself loads without a key (it asks for one); its data does not", async () => {
    expect((await fetch(`${a.url}/dashboard/`)).status).toBe(200);
    expect((await fetch(`${a.url}/api/metrics`)).status).toBe(401);
  });

  test("METRICS_PORT serves /metrics on loopback without a credential, and nothing else", async () => {
    const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("shorten_ws_rejections");
    const other = await fetch(`http://127.0.0.1:${metricsPort}/api/links`);
    expect(other.status).toBe(404);
    expect(((await other.json()) as { error: { code: string } }).error.code).toBe("route-not-found");
  });
});

describe("/ws needs a key", () => {
  test("no key: told to authenticate, sent nothing, closed with 1008 when the deadline passes", async () => {
    const socket = await open(ws(a, "?topics=events"));
    const hello = await socket.next("auth-required");
    expect(String(hello.message)).toContain('{"auth":"<key>"}');
    await visit(a, await createOwned(a, alice.text));
    socket.send({ subscribe: ["events"] });
    expect((await socket.next("error")).error).toMatchObject({ code: "unauthorized" });
    expect(await socket.closed).toEqual({ code: 1008, reason: "authentication required" });
    expect(socket.events()).toEqual([]);
  });

  test("a wrong key in the first message closes the socket with 1008; in a header, the upgrade is a 401", async () => {
    const socket = await open(ws(a));
    await socket.next("auth-required");
    socket.send({ auth: "shk_AAAAAAAA_notakeynotakeynotakeynotakey" });
    expect(await socket.closed).toEqual({ code: 1008, reason: "invalid key (unknown or revoked)" });
    const upgrade = await fetch(`${a.url}/ws`, { headers: { upgrade: "websocket", connection: "Upgrade", "sec-websocket-key": btoa("0123456789abcdef"), "sec-websocket-version": "13", ...bearer("wrong") } });
    expect(upgrade.status).toBe(401);
  });

  test("an ordinary key asking for all-events topics is refused them; it hears its own links only, from every instance", async () => {
    const aliceSocket = await open(ws(a, "?topics=events,metrics,mine"));
    await aliceSocket.next("auth-required");
    aliceSocket.send({ auth: alice.text });
    expect(await aliceSocket.next("authenticated")).toMatchObject({ key: alice.id, everything: false });
    expect((await aliceSocket.next("error")).error).toMatchObject({ code: "forbidden" });
    expect((await aliceSocket.next("subscribed")).topics).toEqual(["mine"]);
    const bobSocket = await connect(ws(b), { auth: bob.text });
    expect(bobSocket.messages.find((m) => m.kind === "subscribed")?.topics).toEqual(["mine"]);
    const adminSocket = await connect(ws(b, "?topics=events"), { auth: admin.text });
    try {
      bobSocket.send({ subscribe: ["reads", "writes"] });
      await eventually(() => bobSocket.messages.some((m) => m.kind === "error" && (m.error as { code: string }).code === "forbidden"), "bob refused reads and writes");
      const aliceCode = await createOwned(b, alice.text);
      const bobCode = await createOwned(a, bob.text);
      for (const code of [aliceCode, bobCode]) {
        await visit(a, code);
        await visit(b, code);
      }
      await eventually(() => adminSocket.events().filter((e) => e.short_code === aliceCode || e.short_code === bobCode).length >= 6, "the admin sees both owners' writes and reads");
      await eventually(() => aliceSocket.events().filter((e) => e.short_code === aliceCode).length >= 3, "alice sees her link's write and both reads");
      await eventually(() => bobSocket.events().filter((e) => e.short_code === bobCode).length >= 3, "bob sees his link's write and both reads");
      // Only links they own (an earlier test's link can still send its enriched click events).
      const owned = async (text: string) => new Set(((await (await fetch(`${a.url}/api/links?limit=100`, { headers: bearer(text) })).json()) as { links: Array<{ short_code: string }> }).links.map((l) => l.short_code));
      const [aliceOwns, bobOwns] = await Promise.all([owned(alice.text), owned(bob.text)]);
      expect(codesOf(aliceSocket).has(aliceCode)).toBe(true);
      expect([...codesOf(aliceSocket)].filter((c) => !aliceOwns.has(String(c)))).toEqual([]);
      expect(codesOf(bobSocket).has(bobCode)).toBe(true);
      expect([...codesOf(bobSocket)].filter((c) => !bobOwns.has(String(c)))).toEqual([]);
      expect(aliceOwns.has(bobCode)).toBe(false);
      expect(new Set(aliceSocket.events().map((e) => e.node))).toEqual(new Set(["instance-41", "instance-42"]));
      expect(aliceSocket.messages.filter((m) => m.kind === "events").every((m) => m.topic === "mine")).toBe(true);
    } finally {
      for (const s of [aliceSocket, bobSocket, adminSocket]) s.close();
    }
  });

  test("an admin key (first message or header) and the admin token see every link's events and the metrics", async () => {
    const byMessage = await connect(ws(a, "?topics=events,metrics"), { auth: admin.text });
    const byHeader = await open(ws(b, "?topics=events"), { headers: bearer(admin.text) });
    const byToken = await connect(ws(a, "?topics=writes"), { auth: ADMIN_TOKEN });
    try {
      await byHeader.next("subscribed");
      expect(byHeader.messages.some((m) => m.kind === "auth-required")).toBe(false);
      const anonymous = ((await (await fetch(`${a.url}/create`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ url: uniqueUrl("anon") }) })).json()) as { short_code: string }).short_code;
      for (const s of [byMessage, byHeader, byToken]) await eventually(() => codesOf(s).has(anonymous), "the anonymous link's write");
      await byMessage.next("metrics", 5000);
    } finally {
      for (const s of [byMessage, byHeader, byToken]) s.close();
    }
  });

  test("revoking a key closes its open sockets on every instance within seconds", async () => {
    const carol = await makeKey(config, "carol");
    const onA = await connect(ws(a), { auth: carol.text });
    const onB = await open(ws(b), { headers: bearer(carol.text) });
    await onB.next("subscribed");
    const started = Date.now();
    await revokeKeyNow(config, carol.id);
    const closes = await Promise.all([onA.closed, onB.closed]);
    expect(closes).toEqual([
      { code: 1008, reason: "API key revoked" },
      { code: 1008, reason: "API key revoked" },
    ]);
    expect(Date.now() - started).toBeLessThan(5000);
    const again = await open(ws(a));
    await again.next("auth-required");
    again.send({ auth: carol.text });
    expect((await again.closed).code).toBe(1008);
  });

  test("a revocation whose announcement is lost still closes the key's sockets, at the next KEYS_POLL_MS poll", async () => {
    const dave = await makeKey(config, "dave");
    const socket = await connect(ws(b), { auth: dave.text });
    // Straight in the catalog, as if the CLI's Redis announcement never arrived.
    const sql = postgres(config.shards[0]!.primary, { max: 1 });
    try {
      await sql`update api_keys set revoked_at = now(), updated_at = now() where id = ${dave.id}`;
    } finally {
      await sql.end();
    }
    const started = Date.now();
    expect(await socket.closed).toEqual({ code: 1008, reason: "API key revoked" });
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe("per-client limits", () => {
  test("a message over WS_MAX_MESSAGE_BYTES and a burst over WS_MESSAGES_PER_SEC close the socket with 1008, counted in metrics", async () => {
    const before = await rejections();
    const big = await connect(ws(a), { auth: admin.text });
    big.send({ subscribe: ["events"], padding: "x".repeat(5000) });
    expect(await big.closed).toEqual({ code: 1008, reason: "message too large (at most 4096 bytes)" });
    const chatty = await connect(ws(a), { auth: admin.text });
    for (let i = 0; i < 30; i++) chatty.send({ subscribe: ["events"] });
    expect(await chatty.closed).toEqual({ code: 1008, reason: "too many messages from this address" });
    const after = await rejections();
    expect((after.size ?? 0) - (before.size ?? 0)).toBe(1);
    expect((after.messages ?? 0) - (before.messages ?? 0)).toBe(1);
  });
});

async function rejections(): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^shorten_ws_rejections\{reason="(\w+)"\} (\d+)/gm)) out[m[1]!] = Number(m[2]);
  return out;
}
