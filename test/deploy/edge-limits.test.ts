/**
 * The edge limits of haproxy.cfg (same template), on a real HAProxy in front of a real instance:
 * a client address over EDGE_REQUESTS_PER_10S or EDGE_ERRORS_PER_10S is refused by HAProxy with
 * a JSON 429 while other addresses are served, and two HAProxy nodes share the counts through
 * `peers`. Each client is its own 127.x.y.z source address; every loop is bounded.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { EDGE_LIMITS_OFF, type EdgeLimits, type EdgePeers } from "../../scripts/deploy/haproxy-config";
import { FLEET_ENV, startHaproxy, type HaproxyProcess } from "../../harness/haproxy";
import { freePort, startServer, type ServerProcess } from "../../harness/server-process";
import { uniqueUrl } from "../../harness/system";
import { rawRequest, type RawResponse } from "../support/raw-http";

const LIMITS: EdgeLimits = { EDGE_REQUESTS_PER_10S: 20, EDGE_ERRORS_PER_10S: 5 };
let server: ServerProcess;
const lbs: HaproxyProcess[] = [];
let link = { code: "", url: "" };

let lastOctets = 0;
/** A loopback address no other test of this run has used: a client with a fresh history. */
function newClient(): string {
  const n = ++lastOctets + Math.floor(Math.random() * 1000) * 4096;
  return `127.${(n >> 16) & 255 || 1}.${(n >> 8) & 255}.${(n & 255) || 1}`;
}

const get = (lb: HaproxyProcess, from: string, target: string): Promise<RawResponse> => rawRequest(lb.port, { target, from });

beforeAll(async () => {
  // App budgets off: every 429 below is HAProxy's.
  server = await startServer({ ...FLEET_ENV, INSTANCE_ID: "21", RATE_LIMIT_ENABLED: "false" });
  const url = uniqueUrl("edge");
  const res = await fetch(`${server.url}/create`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ url }) });
  link = { code: ((await res.json()) as { short_code: string }).short_code, url };
}, 60_000);

afterAll(async () => {
  await Promise.all(lbs.map((lb) => lb.stop()));
  await server?.stop();
});

async function lb(limits: EdgeLimits, peers?: EdgePeers): Promise<HaproxyProcess> {
  const started = await startHaproxy([server.port], { edgeLimits: limits, peers });
  lbs.push(started);
  return started;
}

function expectEdgeRefusal(res: RawResponse): void {
  expect(res.status).toBe(429);
  expect(res.headers.get("content-type")).toBe("application/json");
  expect(res.headers.get("retry-after")).toBe("10");
  expect((JSON.parse(res.body) as { error: { code: string } }).error.code).toBe("rate-limited");
  // HAProxy answered: the app stamps every response it makes with its instance.
  expect(res.headers.has("x-instance")).toBe(false);
}

describe("edge limits (HAProxy stick tables)", () => {
  test("over EDGE_REQUESTS_PER_10S an address gets HAProxy's JSON 429; another address is still served", async () => {
    const edge = await lb({ ...EDGE_LIMITS_OFF, EDGE_REQUESTS_PER_10S: LIMITS.EDGE_REQUESTS_PER_10S });
    const flooder = newClient();
    const statuses: number[] = [];
    let refused: RawResponse | undefined;
    for (let i = 0; i < LIMITS.EDGE_REQUESTS_PER_10S + 5; i++) {
      const res = await get(edge, flooder, `/${link.code}`);
      statuses.push(res.status);
      if (res.status === 429) refused ??= res;
    }
    expect(statuses).toEqual([...Array(LIMITS.EDGE_REQUESTS_PER_10S).fill(302), ...Array(5).fill(429)]);
    expectEdgeRefusal(refused!);
    const other = await get(edge, newClient(), `/${link.code}`);
    expect([other.status, other.headers.get("location")]).toEqual([302, link.url]);
  }, 30_000);

  test("404 probing: over EDGE_ERRORS_PER_10S failed requests an address is refused, even for a real link; others are not", async () => {
    const edge = await lb({ ...EDGE_LIMITS_OFF, EDGE_ERRORS_PER_10S: LIMITS.EDGE_ERRORS_PER_10S });
    const prober = newClient();
    const statuses: number[] = [];
    for (let i = 0; i < LIMITS.EDGE_ERRORS_PER_10S + 4; i++) statuses.push((await get(edge, prober, `/nx${i}${Date.now().toString(36)}`)).status);
    const firstRefusal = statuses.indexOf(429);
    // The error rate is counted as answers come back, so the refusal starts once the count is
    // over the limit: after limit + 1 misses.
    expect(statuses.slice(0, firstRefusal)).toEqual(Array(LIMITS.EDGE_ERRORS_PER_10S + 1).fill(404));
    expect(statuses.slice(firstRefusal).every((s) => s === 429)).toBe(true);
    expectEdgeRefusal(await get(edge, prober, `/${link.code}`));
    expect((await get(edge, newClient(), `/${link.code}`)).status).toBe(302);
  }, 30_000);

  test("peers: what an address spent at one HAProxy counts at the other", async () => {
    const [portA, portB] = [await freePort(), await freePort()];
    const all = [
      { name: "edge-a", address: `127.0.0.1:${portA}` },
      { name: "edge-b", address: `127.0.0.1:${portB}` },
    ];
    const limits = { ...EDGE_LIMITS_OFF, EDGE_REQUESTS_PER_10S: LIMITS.EDGE_REQUESTS_PER_10S };
    const [a, b] = await Promise.all([lb(limits, { local: "edge-a", all }), lb(limits, { local: "edge-b", all })]);
    const client = newClient();
    for (let i = 0; i < LIMITS.EDGE_REQUESTS_PER_10S; i++) expect((await get(a, client, `/${link.code}`)).status).toBe(302);
    // Alone, B would let this address through LIMIT more times. Once A's entry has reached B, the
    // next request at B is over the limit; allow a few requests (under a second) for the push.
    const atB: number[] = [];
    for (let i = 0; i < 10 && !atB.includes(429); i++) {
      atB.push((await get(b, client, `/${link.code}`)).status);
      if (atB.at(-1) !== 429) await Bun.sleep(100);
    }
    console.log(`peers: after ${LIMITS.EDGE_REQUESTS_PER_10S} requests at A, B answered ${atB.join(",")}`);
    expect(atB.at(-1)).toBe(429);
    expect(atB.length).toBeLessThan(LIMITS.EDGE_REQUESTS_PER_10S / 2);
    expect((await get(b, newClient(), `/${link.code}`)).status).toBe(302);
  }, 30_000);
});
