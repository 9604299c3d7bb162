/**
 * Property-based fuzzing of the /ws protocol on a real server process in the default (closed)
 * mode: random upgrade queries and header credentials, then random messages (auth with real,
 * wrong and junk credentials; subscribe/unsubscribe with any topic names and types; random JSON,
 * text and binary; oversized messages). Whatever is sent: every server message is JSON of a
 * documented kind, a socket the server closes gets a documented code, a socket that never
 * presented an admin credential never receives metrics or another link's events, and afterwards
 * the server is ready and an admin still gets the stream.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { STREAM_TOPICS } from "../../src/events/stream-access";
import { connect } from "../events/ws-client";
import { makeKey } from "../support/keys";
import { startServer, type ServerProcess } from "../../harness/server-process";
import { clusterConfig, uniqueUrl } from "../../harness/system";

const SESSIONS = Number(process.env.FUZZ_WS_SESSIONS ?? 250);
const KINDS = new Set(["auth-required", "authenticated", "subscribed", "error", "events", "metrics", "topology"]);
const CLOSE_CODES = new Set([1000, 1001, 1005, 1008, 1011]);
let server: ServerProcess;
let admin: string;
let user: string;
/** What the sessions met, so the test shows the properties were exercised, not vacuous. */
const seen = { privileged: 0, refusedTopics: 0, closed1008: 0, upgradeRefused: 0 };

beforeAll(async () => {
  const config = clusterConfig();
  [admin, user] = (await Promise.all([makeKey(config, "wsfuzz-admin", "admin"), makeKey(config, "wsfuzz-user")])).map((k) => k.text) as [string, string];
  // Limits high enough that most sessions get past them (they have their own tests), auth fast.
  server = await startServer({ OBSERVABILITY_PUBLIC: "false", RATE_LIMIT_ENABLED: "false", INSTANCE_ID: "46", METRICS_PUSH_MS: "200", EVENT_FLUSH_MS: "20", WS_AUTH_TIMEOUT_MS: "300", WS_MESSAGES_PER_SEC: "2000", WS_MAX_PER_CLIENT: "200" });
});
afterAll(async () => {
  await server?.stop();
});

interface Session {
  query: string | null;
  header: string | null;
  messages: Array<string | Uint8Array>;
}

function sessions(): fc.Arbitrary<Session> {
  const credential = fc.oneof(
    { arbitrary: fc.constant(admin), weight: 2 },
    { arbitrary: fc.constant(user), weight: 3 },
    { arbitrary: fc.constantFrom("", "shk_AAAAAAAA_" + "B".repeat(36), `${admin}x`, admin.slice(0, -1)), weight: 1 },
    { arbitrary: fc.string({ maxLength: 60 }), weight: 1 },
  );
  const topic = fc.oneof(fc.constantFrom(...STREAM_TOPICS, "owner:x", "EVENTS", "", " mine"), fc.string({ maxLength: 10 }));
  const topics = fc.oneof(fc.array(topic, { maxLength: 4 }), fc.string({ maxLength: 10 }), fc.integer(), fc.constant(null));
  const message = fc.oneof(
    fc.record({ auth: fc.oneof(credential, fc.integer(), fc.constant(null)) }).map((m) => JSON.stringify(m)),
    fc.record({ subscribe: topics, unsubscribe: topics }, { requiredKeys: [] }).map((m) => JSON.stringify(m)),
    fc.json({ maxDepth: 5 }),
    fc.string({ maxLength: 200 }),
    fc.uint8Array({ maxLength: 200 }),
    fc.integer({ min: 4000, max: 9000 }).map((n) => JSON.stringify({ subscribe: ["events"], pad: "x".repeat(n) })),
  );
  return fc.record({
    query: fc.option(fc.oneof(fc.array(topic, { maxLength: 3 }).map((t) => t.map(encodeURIComponent).join(",")), fc.string({ maxLength: 30 }).map(encodeURIComponent)), { nil: null }),
    header: fc.option(credential.filter((c) => /^[\x21-\x7e]+$/.test(c)), { nil: null }),
    messages: fc.array(message, { maxLength: 6 }),
  });
}

async function run(session: Session): Promise<string[]> {
  const problems: string[] = [];
  const url = `ws://127.0.0.1:${server.port}/ws${session.query === null ? "" : `?topics=${session.query}`}`;
  const ws = new WebSocket(url, (session.header === null ? {} : { headers: { authorization: `Bearer ${session.header}` } }) as never);
  const received: Array<Record<string, unknown>> = [];
  let closeCode: number | null = null;
  ws.onmessage = (m) => {
    try {
      received.push(JSON.parse(String(m.data)));
    } catch {
      problems.push(`not JSON: ${String(m.data).slice(0, 100)}`);
    }
  };
  const closed = new Promise<void>((resolve) => (ws.onclose = (e) => ((closeCode = e.code), resolve())));
  const opened = await new Promise<boolean>((resolve) => {
    ws.onopen = () => resolve(true);
    ws.onerror = () => resolve(false);
  });
  let presentedAdmin = session.header === admin;
  if (opened) {
    for (const m of session.messages) {
      if (ws.readyState !== WebSocket.OPEN) break;
      if (typeof m === "string" && m.includes(`"auth":"${admin}"`)) presentedAdmin = true;
      ws.send(m);
      await Bun.sleep(2);
    }
    await Bun.sleep(60);
    if (ws.readyState === WebSocket.OPEN) ws.close();
  }
  await Promise.race([closed, Bun.sleep(2000)]);
  if (!opened) seen.upgradeRefused++;
  if (closeCode === 1008) seen.closed1008++;
  for (const m of received) {
    if (m.kind === "error" && (m.error as { code?: string } | undefined)?.code === "forbidden") seen.refusedTopics++;
    if (!KINDS.has(String(m.kind))) problems.push(`unknown kind: ${JSON.stringify(m).slice(0, 100)}`);
    const privileged = m.kind === "metrics" || m.kind === "topology" || (m.kind === "events" && m.topic !== "mine");
    if (privileged) seen.privileged++;
    if (privileged && !presentedAdmin) problems.push(`${String(m.kind)} ${String(m.topic ?? "")} reached a socket without an admin credential`);
  }
  if (closeCode !== null && !CLOSE_CODES.has(closeCode) && !(closeCode === 1006 && !opened)) problems.push(`closed with ${closeCode}`);
  return problems;
}

describe("fuzz: the WebSocket protocol", () => {
  test(`${SESSIONS} random sessions: documented messages and close codes, nothing privileged without an admin credential`, async () => {
    let creating = true;
    const traffic = (async () => {
      while (creating) {
        await fetch(`${server.url}/create`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ url: uniqueUrl("wsfuzz") }) }).catch(() => {});
        await Bun.sleep(25);
      }
    })();
    const problems: string[] = [];
    try {
      await fc.assert(
        fc.asyncProperty(sessions(), async (session) => {
          const found = await run(session);
          problems.push(...found);
          return found.length === 0;
        }),
        { numRuns: SESSIONS, seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31) },
      );
    } catch (error) {
      throw new Error(`${(error as Error).message.slice(0, 2000)}\n${problems.slice(0, 5).join("\n")}`);
    } finally {
      creating = false;
      await traffic;
    }
    expect(problems).toEqual([]);
    console.log(`ws fuzz: ${JSON.stringify(seen)}`);
    for (const [what, count] of Object.entries(seen)) expect(count, what).toBeGreaterThan(0);
  }, 300_000);

  test("afterwards the server is ready and an admin still gets the stream", async () => {
    expect((await fetch(`${server.url}/health/ready`)).status).toBe(200);
    const socket = await connect(`ws://127.0.0.1:${server.port}/ws?topics=events`, { auth: admin });
    try {
      const res = await fetch(`${server.url}/create`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ url: uniqueUrl("wsfuzz-after") }) });
      const code = ((await res.json()) as { short_code: string }).short_code;
      await socket.next("events");
      const deadline = Date.now() + 5000;
      while (!socket.events().some((e) => e.short_code === code) && Date.now() < deadline) await Bun.sleep(20);
      expect(socket.events().some((e) => e.short_code === code)).toBe(true);
    } finally {
      socket.close();
    }
  });
});
