import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect, open } from "../events/ws-client";
import { makeKey } from "../support/keys";
import { rawWebSocket } from "../support/raw-ws";
import { eventually, startServer, type ServerProcess } from "../../harness/server-process";
import { clusterConfig, uniqueUrl } from "../../harness/system";

/**
 * One address opening sockets without end: the cap holds, the server stays ready and other
 * clients keep their streams. And the public mode (OBSERVABILITY_PUBLIC=true, what `npm start`
 * sets): open to all, as before.
 */
const CAP = 5;
const ATTEMPTS = 5000;
let server: ServerProcess;
let open_: ServerProcess;
let adminKey: string;
let userKey: { id: string; text: string };

beforeAll(async () => {
  const config = clusterConfig();
  const [admin, user] = await Promise.all([makeKey(config, "flood-admin", "admin"), makeKey(config, "flood-user")]);
  adminKey = admin.text;
  userKey = user;
  const env = { RATE_LIMIT_ENABLED: "false", EVENT_FLUSH_MS: "20" };
  [server, open_] = await Promise.all([
    startServer({ ...env, OBSERVABILITY_PUBLIC: "false", INSTANCE_ID: "43", WS_MAX_PER_CLIENT: String(CAP) }),
    startServer({ ...env, OBSERVABILITY_PUBLIC: "true", INSTANCE_ID: "44" }),
  ]);
});
afterAll(async () => {
  await Promise.all([server?.stop(), open_?.stop()]);
});

const create = async (s: ServerProcess) =>
  ((await (await fetch(`${s.url}/create`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ url: uniqueUrl("flood") }) })).json()) as { short_code: string }).short_code;

describe("connection flood from one address", () => {
  test(`${ATTEMPTS} attempts: at most ${CAP} held, the rest closed with 1008; ready throughout; another address unaffected`, async () => {
    const bystander = await rawWebSocket({ port: server.port, localAddress: "127.0.0.9", path: "/ws?topics=events", headers: { authorization: `Bearer ${adminKey}` } });
    expect(bystander.status).toBe(101);
    await bystander.next((f) => f.text.includes('"kind":"subscribed"'));
    const held: WebSocket[] = [];
    const refusals = new Map<string, number>();
    let readyChecks = 0;
    for (let wave = 0; wave < ATTEMPTS / 250; wave++) {
      const outcomes = await Promise.all(
        Array.from({ length: 250 }, async () => {
          const socket = await open(`ws://127.0.0.1:${server.port}/ws`, { headers: { authorization: `Bearer ${adminKey}` } }).catch(() => null);
          if (socket === null) return "no upgrade";
          const first = await Promise.race([socket.next("subscribed").then(() => "held" as const, () => "closed" as const), socket.closed.then((c) => `${c.code} ${c.reason}`)]);
          if (first === "held") held.push(socket.ws);
          return first === "held" ? first : `${(await socket.closed).code} ${(await socket.closed).reason}`;
        }),
      );
      for (const o of outcomes) if (o !== "held") refusals.set(o, (refusals.get(o) ?? 0) + 1);
      const ready = await fetch(`${server.url}/health/ready`);
      expect(ready.status).toBe(200);
      readyChecks++;
    }
    expect(held.length).toBe(CAP);
    expect([...refusals]).toEqual([[`1008 too many connections from this address (at most ${CAP})`, ATTEMPTS - CAP]]);
    expect(readyChecks).toBe(ATTEMPTS / 250);
    const code = await create(server);
    await bystander.next((f) => f.text.includes(`"short_code":"${code}"`));
    const metrics = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${adminKey}` } })).text();
    expect(metrics).toContain(`shorten_ws_rejections{reason="connections"} ${ATTEMPTS - CAP}`);
    for (const ws of held) ws.close();
    bystander.close();
  }, 120_000);

  test("a slot freed by a closed socket can be taken again", async () => {
    const sockets = await eventually(async () => {
      const list = await Promise.all(Array.from({ length: CAP }, () => connect(`ws://127.0.0.1:${server.port}/ws`, { auth: adminKey }).catch(() => null)));
      if (list.every((s) => s !== null)) return list;
      for (const s of list) s?.close();
      return undefined;
    }, "the earlier sockets' slots to be released");
    try {
      const extra = await open(`ws://127.0.0.1:${server.port}/ws`);
      expect((await extra.closed).code).toBe(1008);
    } finally {
      for (const s of sockets) s!.close();
    }
  });
});

describe("public mode (OBSERVABILITY_PUBLIC=true)", () => {
  test("no key: the stream, /api/metrics and /metrics are open; a key adds its own stream", async () => {
    expect((await fetch(`${open_.url}/api/metrics`)).status).toBe(200);
    expect((await fetch(`${open_.url}/metrics`)).status).toBe(200);
    const anonymous = await connect(`ws://127.0.0.1:${open_.port}/ws?topics=events`);
    expect(anonymous.messages.some((m) => m.kind === "auth-required")).toBe(false);
    anonymous.send({ subscribe: ["mine"] });
    await eventually(() => anonymous.messages.some((m) => m.kind === "error" && (m.error as { code: string }).code === "forbidden"), "mine refused without a key");
    anonymous.send({ auth: userKey.text });
    await anonymous.next("authenticated");
    anonymous.send({ subscribe: ["mine"] });
    await eventually(() => anonymous.messages.filter((m) => m.kind === "subscribed").some((m) => (m.topics as string[]).includes("mine")), "mine granted with the key");
    const code = await create(open_);
    await eventually(() => anonymous.events().some((e) => e.short_code === code), "the anonymous link's event");
    const owned = ((await (await fetch(`${open_.url}/create`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${userKey.text}` }, body: JSON.stringify({ url: uniqueUrl("pub") }) })).json()) as { short_code: string }).short_code;
    await eventually(() => anonymous.messages.some((m) => m.kind === "events" && m.topic === "mine" && (m.events as Array<{ short_code: string }>).some((e) => e.short_code === owned)), "the owned link on mine");
    anonymous.close();
  });
});

describe("shutdown", () => {
  test("SIGTERM closes every socket with 1001, those still authenticating too, and exits 0 without waiting for them", async () => {
    const pending = await open(`ws://127.0.0.1:${server.port}/ws`);
    await pending.next("auth-required");
    const held = await connect(`ws://127.0.0.1:${server.port}/ws`, { auth: adminKey });
    const started = Date.now();
    const exit = server.stop();
    expect((await pending.closed).code).toBe(1001);
    expect((await held.closed).code).toBe(1001);
    expect(await exit).toBe(0);
    // The default WS_AUTH_TIMEOUT_MS is 5 s: the pending socket did not hold the stop up.
    expect(Date.now() - started).toBeLessThan(4000);
  }, 20_000);
});
