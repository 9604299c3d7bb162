/**
 * The real HAProxy (same template as haproxy.cfg, fast checks) in front of real server
 * processes on the test cluster: balancing, WebSockets through the proxy, Snowflake uniqueness
 * across instances, an instance crash (SIGKILL) and its return, and rate limiting keyed on the
 * client address HAProxy saw, /metrics refused however it is spelled. All traffic stays on
 * 127.0.0.0/8; every loop is bounded.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { request as httpRequest } from "node:http";
import fc from "fast-check";
import { decodeBase62 } from "../../src/domain/base62";
import { parseSnowflake } from "../../src/domain/snowflake";
import { LANES_PER_INSTANCE } from "../../src/ids/id-source";
import { backendStats } from "../../scripts/deploy/haproxy-runtime";
import { connect } from "../events/ws-client";
import { rawWebSocket, type RawSocket } from "../support/raw-ws";
import { startFleet, startLoad, TEST_CHECK, type Fleet, type HaproxyProcess } from "../../harness/haproxy";
import { eventually, type ServerProcess } from "../../harness/server-process";
import { uniqueUrl } from "../../harness/system";
import { noisyTarget, pathSpelling } from "../support/path-spellings";
import { rawRequest, type RawResponse } from "../support/raw-http";

async function create(baseUrl: string, url = uniqueUrl("lb")): Promise<{ status: number; code: string }> {
  const res = await fetch(`${baseUrl}/create`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ url }), signal: AbortSignal.timeout(15_000) });
  const body = (await res.json()) as { short_code?: string };
  return { status: res.status, code: body.short_code ?? "" };
}

describe("HAProxy in front of 3 instances", () => {
  const IDS = [1, 2, 3];
  const WS_CAP = 2;
  let fleet: Fleet | undefined;
  let instances: ServerProcess[] = [];
  let lb: HaproxyProcess;

  beforeAll(async () => {
    fleet = await startFleet(IDS, () => ({ RATE_LIMIT_ENABLED: "false", SHUTDOWN_DRAIN_MS: "1000", WS_MAX_PER_CLIENT: String(WS_CAP) }));
    ({ instances, lb } = fleet);
  }, 60_000);

  afterAll(() => fleet?.stop());

  test("round robin reaches every instance (x-instance on the redirect)", async () => {
    const { status, code } = await create(lb.url);
    expect(status).toBe(201);
    const seen = new Map<string, number>();
    for (let i = 0; i < 30; i++) {
      const res = await fetch(`${lb.url}/${code}`, { redirect: "manual" });
      await res.arrayBuffer();
      expect(res.status).toBe(302);
      const instance = res.headers.get("x-instance") ?? "?";
      seen.set(instance, (seen.get(instance) ?? 0) + 1);
    }
    console.log(`30 redirects through HAProxy by instance: ${JSON.stringify(Object.fromEntries(seen))}`);
    expect([...seen.keys()].sort()).toEqual(["1", "2", "3"]);
    for (const n of seen.values()) expect(n).toBeGreaterThanOrEqual(5);
  });

  test("a WebSocket through HAProxy (/ws?topics=events) receives the events of every instance", async () => {
    const ws = await connect(`ws://127.0.0.1:${lb.port}/ws?topics=events`);
    try {
      await eventually(() => (ws.messages.some((m) => m.kind === "subscribed") ? true : undefined), "subscribed", 5000);
      // One create straight to each instance: whichever instance holds the socket, it must
      // relay the others' events (Redis pub/sub) through the HAProxy tunnel.
      const codes = await Promise.all(instances.map(async (s) => (await create(s.url)).code));
      const nodes = await eventually(
        () => {
          const writes = ws.events().filter((e) => e.type === "write" && codes.includes(String(e.short_code)));
          const byNode = new Set(writes.map((e) => String(e.node)));
          return byNode.size === 3 ? byNode : undefined;
        }, "write events from all 3 instances", 10_000);
      expect([...nodes].sort()).toEqual(IDS.map((id) => `instance-${id}`));
    } finally {
      ws.close();
    }
  });

  test("the WebSocket cap counts the client HAProxy saw (X-Forwarded-For), not HAProxy's own address", async () => {
    const octet = () => 2 + Math.floor(Math.random() * 250);
    const flooder = `127.${octet()}.${octet()}.1`;
    const other = `127.${octet()}.${octet()}.2`;
    const sockets: RawSocket[] = [];
    try {
      // Round robin spreads 12 sockets over the 3 instances: each admits WS_CAP of them.
      for (let i = 0; i < 12; i++) sockets.push(await rawWebSocket({ port: lb.port, localAddress: flooder, path: "/ws?topics=events" }));
      const first = await Promise.all(sockets.map((s) => s.next((f) => f.opcode === 8 || f.text.includes('"kind":"subscribed"')).then((f) => (f.opcode === 8 ? `${f.code} ${f.text}` : "held"))));
      expect(first.filter((f) => f === "held").length).toBe(WS_CAP * IDS.length);
      expect(new Set(first.filter((f) => f !== "held"))).toEqual(new Set([`1008 too many connections from this address (at most ${WS_CAP})`]));
      const bystander = await rawWebSocket({ port: lb.port, localAddress: other, path: "/ws?topics=events" });
      sockets.push(bystander);
      await bystander.next((f) => f.text.includes('"kind":"subscribed"'));
    } finally {
      for (const s of sockets) s.close();
    }
  });

  // HAProxy's own answers carry no Date header; every Bun response does (checked below).
  const fromEdge = (r: RawResponse) => !r.headers.has("date");
  const isEdge404 = (r: RawResponse) => r.status === 404 && fromEdge(r) && r.body.includes('"code":"route-not-found"');

  test("/metrics is not served at the edge, however it is spelled: HAProxy answers 404 (Prometheus scrapes METRICS_PORT inside the network)", async () => {
    // In public mode (these instances) any spelling that reached the app as /metrics would be a 200.
    expect((await fetch(`${instances[0]!.url}/metrics`)).status).toBe(200);
    const appOwn404 = await rawRequest(lb.port, { target: "/no/such/route" });
    expect(appOwn404.status).toBe(404);
    expect(fromEdge(appOwn404)).toBe(false);

    const spellings = ["/metrics", "/metrics/", "/metrics?x=1", "/./metrics", "/api/../metrics", "/metrics/.", "/metrics/%2e", "/api/%2e%2e/metrics", "/api/.%2E/metrics", "/%2e/metrics", "/../metrics", "/a/./../metrics", "//metrics", "/metrics//", "/%6detrics", "/metric%73", "/METRICS", "/Metrics/"];
    for (const target of [...spellings, `http://127.0.0.1:${lb.port}/./metrics`]) {
      const r = await rawRequest(lb.port, { target, host: `127.0.0.1:${lb.port}` });
      expect({ target, edge404: isEdge404(r) }).toEqual({ target, edge404: true });
    }
    // Bun reads a backslash as a slash and no HAProxy normaliser does: a raw one is refused outright.
    for (const target of ["/a\\..\\metrics", "/api/..\\metrics", "/metrics\\", "/\\metrics"]) {
      expect({ target, status: (await rawRequest(lb.port, { target })).status }).toEqual({ target, status: 400 });
    }
  });

  test("property: every dot-segment, slash and percent spelling of /metrics is HAProxy's 404; the same spellings of real routes still work", async () => {
    const { code } = await create(lb.url);
    await fc.assert(
      fc.asyncProperty(pathSpelling(["metrics"]), pathSpelling(["health", "live"]), pathSpelling([code]), async (metrics, live, redirect) => {
        expect({ metrics, edge404: isEdge404(await rawRequest(lb.port, { target: metrics })) }).toEqual({ metrics, edge404: true });
        const liveRes = await rawRequest(lb.port, { target: live });
        expect({ live, status: liveRes.status, ok: liveRes.body.includes('"status":"ok"') }).toEqual({ live, status: 200, ok: true });
        expect({ redirect, status: (await rawRequest(lb.port, { target: redirect })).status }).toEqual({ redirect, status: 302 });
      }),
      { numRuns: 60 },
    );
  }, 60_000);

  test("property: no target and no Host header gets the Prometheus text through HAProxy", async () => {
    const host = fc.constantFrom<string | null>(null, "x", "ab", "abc", "shorten.test", `127.0.0.1:${lb.port}`);
    await fc.assert(
      fc.asyncProperty(noisyTarget, host, async (target, h) => {
        const r = await rawRequest(lb.port, { target, host: h, version: h === null ? "HTTP/1.0" : "HTTP/1.1" });
        expect({ target, host: h, prometheus: r.body.includes("# HELP ") }).toEqual({ target, host: h, prometheus: false });
      }),
      { numRuns: 300 },
    );
  }, 60_000);

  test("Snowflake ids stay unique across 3 instances: 3000 creates through HAProxy", async () => {
    const TOTAL = 3000;
    const CONCURRENCY = 8;
    const codes: string[] = [];
    const failures: string[] = [];
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < TOTAL) {
          next++;
          const r = await create(lb.url).catch((e: Error) => ({ status: 0, code: e.message }));
          if (r.status === 201) codes.push(r.code);
          else failures.push(`${r.status} ${r.code}`);
        }
      }),
    );
    const prefixes = new Map<number, number>();
    const undecodable: string[] = [];
    for (const code of codes) {
      const id = decodeBase62(code);
      if (id === null) {
        undecodable.push(code);
        continue;
      }
      const instance = Math.floor(parseSnowflake(id).workerId / LANES_PER_INSTANCE);
      prefixes.set(instance, (prefixes.get(instance) ?? 0) + 1);
    }
    console.log(
      `${TOTAL} creates through HAProxy in ${Math.round(performance.now() - t0)} ms: ${codes.length} ok, ${new Set(codes).size} distinct, by instance prefix ${JSON.stringify(Object.fromEntries(prefixes))}` +
        (failures.length ? `; ${failures.length} failed, e.g. ${failures.slice(0, 5).join(" | ")}; instance exit codes ${instances.map((s) => s.proc.exitCode).join(",")}` : ""),
    );
    expect(undecodable).toEqual([]);
    expect(failures).toEqual([]);
    expect(codes.length).toBe(TOTAL);
    expect(new Set(codes).size).toBe(TOTAL);
    expect([...prefixes.keys()].sort()).toEqual(IDS);
  }, 120_000);

  test("SIGKILL of an instance under load: HAProxy drops it within the check interval, failures stay bounded, it rejoins", async () => {
    const { code } = await create(lb.url);
    const victimIndex = 1;
    const victim = instances[victimIndex]!;
    const victimId = String(IDS[victimIndex]);
    const statsBefore = await backendStats(lb.statsPort);

    const load = startLoad(`${lb.url}/${code}`, { concurrency: 8, maxRequests: 20_000, durationMs: 25_000, pauseMs: 2 });
    const t0 = performance.now();
    let stage = "warm-up";
    let detectMs = -1;
    let rejoinMs = -1;
    let result = load.snapshot();
    try {
      await Bun.sleep(1500);
      stage = "kill";
      const killAt = performance.now();
      await victim.stop("SIGKILL");
      stage = "wait for DOWN";
      await lb.waitStatus(victim.port, "DOWN", 5000);
      detectMs = Math.round(performance.now() - killAt);
      await Bun.sleep(1500);

      stage = "restart";
      const restartAt = performance.now();
      const revived = await fleet!.restart(victimIndex);
      stage = "wait for UP";
      await lb.waitStatus(revived.port, "UP", 10_000);
      const upAt = performance.now();
      rejoinMs = Math.round(upAt - restartAt);
      stage = "wait for traffic to the revived instance";
      await eventually(() => (load.snapshot().timeline.some((r) => r.instance === victimId && r.t > upAt - t0) ? true : undefined), `responses from instance ${victimId} after it rejoined`, 5000);
      await Bun.sleep(500);
      stage = "done";
    } finally {
      result = await load.stop();
      const statsAfter = await backendStats(lb.statsPort).catch(() => statsBefore);
      const counter = (rows: Array<Record<string, string>>, col: string) => rows.filter((r) => r.svname !== "BACKEND").reduce((n, r) => n + Number(r[col] || 0), 0);
      console.log(
        `SIGKILL (${stage}): ${result.sent} requests, ${result.ok} ok, ${result.failed} failed (${((100 * result.failed) / Math.max(1, result.sent)).toFixed(3)}%); ` +
          `marked DOWN ${detectMs} ms after the kill (check inter ${TEST_CHECK.interMs} ms, fastinter ${TEST_CHECK.fastinterMs} ms, fall ${TEST_CHECK.fall}); ` +
          `UP again ${rejoinMs} ms after restart; HAProxy retries ${counter(statsAfter, "wretr") - counter(statsBefore, "wretr")}, ` +
          `redispatches ${counter(statsAfter, "wredis") - counter(statsBefore, "wredis")}; by instance ${JSON.stringify(Object.fromEntries(result.byInstance))}` +
          (result.failures.length ? `; failures: ${result.failures.join(" | ")}` : ""),
      );
    }
    expect(result.sent).toBeGreaterThan(1000);
    // Worst case by the check timing is inter + (fall-1) * fastinter (450 ms); the slack is for a loaded machine.
    expect(detectMs).toBeGreaterThan(0);
    expect(detectMs).toBeLessThan(TEST_CHECK.interMs + TEST_CHECK.fall * TEST_CHECK.fastinterMs + 1500);
    expect(result.failed).toBeLessThan(Math.max(5, result.sent * 0.01));
    expect(result.byInstance.get(victimId) ?? 0).toBeGreaterThan(0);
  }, 60_000);
});

/** POST /create from a chosen loopback source address, through a fresh connection. */
function createFrom(localAddress: string, port: number, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ url: uniqueUrl("rl") });
    const req = httpRequest(
      { host: "127.0.0.1", port, path: "/create", method: "POST", localAddress, agent: false, timeout: 5000, headers: { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)), ...headers } },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end(body);
  });
}

describe("rate limiting behind HAProxy keys on the client HAProxy saw", () => {
  const LIMIT = 3;
  let fleet: Fleet | undefined;
  let lb: HaproxyProcess;

  beforeAll(async () => {
    fleet = await startFleet([11, 12], () => ({ RATE_LIMIT_CREATE_PER_MIN: String(LIMIT), SHUTDOWN_DRAIN_MS: "1000" }));
    ({ lb } = fleet);
  }, 60_000);

  afterAll(() => fleet?.stop());

  test("one client's exhausted budget neither blocks another client nor is escaped by a forged X-Forwarded-For", async () => {
    // Fresh loopback addresses per run: budgets are shared by both instances through Redis.
    const octet = () => 2 + Math.floor(Math.random() * 250);
    const a = `127.${octet()}.${octet()}.${octet()}`;
    let b = `127.${octet()}.${octet()}.${octet()}`;
    while (b === a) b = `127.${octet()}.${octet()}.${octet()}`;

    const first: number[] = [];
    for (let i = 0; i < LIMIT; i++) first.push(await createFrom(a, lb.port));
    // Anonymous creates are admitted in memory and the instances' views of a budget converge
    // through Redis every RATE_LIMIT_SYNC_MS: until then, each instance may admit up to a burst
    // of its own for a client it has not seen refused (the documented bound), never more. An
    // instance that has not admitted the client since its last sync has nothing to send and
    // keeps its view, so the first refusal may come from one instance while the other still has
    // room: the loop runs until both have refused (round robin alternates them).
    let extra = 0;
    let refusedInARow = 0;
    while (extra <= LIMIT && refusedInARow < 2) {
      if ((await createFrom(a, lb.port)) === 201) {
        extra++;
        refusedInARow = 0;
      } else refusedInARow++;
    }
    await Bun.sleep(500);
    const overLimit = [await createFrom(a, lb.port), await createFrom(a, lb.port)];
    // A forged hop left of the real one changes nothing: the app takes the right-most untrusted
    // address, which is the one HAProxy appended.
    const forged = await createFrom(a, lb.port, { "x-forwarded-for": `198.51.100.${octet()}` });
    const other = await createFrom(b, lb.port);
    const otherForgingA = await createFrom(b, lb.port, { "x-forwarded-for": a });
    console.log(`rate limit ${LIMIT}/min: client ${a}: ${first.join(",")}, ${extra} more before both instances refused, then ${overLimit}, forged XFF ${forged}; client ${b}: ${other}, claiming to be ${a}: ${otherForgingA}`);

    expect(first).toEqual(Array(LIMIT).fill(201));
    expect(extra).toBeLessThanOrEqual(LIMIT);
    expect(overLimit).toEqual([429, 429]);
    expect(forged).toBe(429);
    expect(other).toBe(201); // not HAProxy's 127.0.0.1: that key would be exhausted too
    expect(otherForgingA).toBe(201);
  });
});
