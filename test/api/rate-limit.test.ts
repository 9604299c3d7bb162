import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startSystem, uniqueUrl, type TestSystem } from "../../harness/system";
import { eventually } from "../../harness/eventually";

let sys: TestSystem;
const ip = () => `198.51.100.${Math.floor(Math.random() * 250) + 1}-${crypto.randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  sys = await startSystem({
    RATE_LIMIT_CREATE_PER_MIN: "5",
    RATE_LIMIT_REDIRECT_PER_MIN: "30",
    RATE_LIMIT_NOT_FOUND_COST: "10",
    TRUSTED_PROXIES: "10.9.9.9",
  });
});
afterAll(() => sys.close());

describe("rate limiting (GCRA in Redis)", () => {
  test("creates: the burst passes with RateLimit headers, then 429 with Retry-After", async () => {
    const peer = ip();
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 6; i++) {
      last = await sys.request("POST", "/create", { url: uniqueUrl("rl") }, { peer });
      statuses.push(last.status);
      if (i === 0) {
        expect(last.headers.get("ratelimit-limit")).toBe("5");
        expect(last.headers.get("ratelimit-remaining")).toBe("4");
        expect(last.headers.get("ratelimit-policy")).toBe("5;w=60");
      }
    }
    expect(statuses).toEqual([201, 201, 201, 201, 201, 429]);
    expect(Number(last!.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(Number(last!.headers.get("retry-after"))).toBeLessThanOrEqual(12);
    expect(((await last!.json()) as { error: { code: string } }).error.code).toBe("rate-limited");
  });

  test("each client has its own budget", async () => {
    const a = ip();
    for (let i = 0; i < 5; i++) await sys.request("POST", "/create", { url: uniqueUrl("rl-a") }, { peer: a });
    expect((await sys.request("POST", "/create", { url: uniqueUrl("rl-a") }, { peer: a })).status).toBe(429);
    expect((await sys.request("POST", "/create", { url: uniqueUrl("rl-b") }, { peer: ip() })).status).toBe(201);
  });

  test("404s cost more than hits: probing for codes runs out fast", async () => {
    const prober = ip();
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await sys.request("GET", `/zz${i}zzzzzz`, undefined, { peer: prober })).status);
    // 30 tokens, 10 per 404: three probes, then refused.
    expect(statuses.slice(0, 3)).toEqual([404, 404, 404]);
    expect(statuses.slice(3)).toEqual([429, 429]);
  });

  test("the creates and redirects budgets are separate", async () => {
    const peer = ip();
    for (let i = 0; i < 5; i++) await sys.request("POST", "/create", { url: uniqueUrl("sep") }, { peer });
    const res = await sys.request("GET", "/zzzzzzzzzz", undefined, { peer });
    expect(res.status).toBe(404);
  });

  test("X-Forwarded-For is believed only from a trusted proxy", async () => {
    const client = ip();
    // Through the trusted proxy, two different forwarded clients have separate budgets.
    for (let i = 0; i < 5; i++) await sys.request("POST", "/create", { url: uniqueUrl("xff") }, { peer: "10.9.9.9", headers: { "x-forwarded-for": client } });
    expect((await sys.request("POST", "/create", { url: uniqueUrl("xff") }, { peer: "10.9.9.9", headers: { "x-forwarded-for": client } })).status).toBe(429);
    expect((await sys.request("POST", "/create", { url: uniqueUrl("xff") }, { peer: "10.9.9.9", headers: { "x-forwarded-for": ip() } })).status).toBe(201);
    // From an untrusted peer the header is ignored: rotating it does not buy a new budget.
    const direct = ip();
    for (let i = 0; i < 5; i++) await sys.request("POST", "/create", { url: uniqueUrl("xff") }, { peer: direct, headers: { "x-forwarded-for": ip() } });
    expect((await sys.request("POST", "/create", { url: uniqueUrl("xff") }, { peer: direct, headers: { "x-forwarded-for": ip() } })).status).toBe(429);
  });

  test("the shared bucket lives in Redis, on the shard the ring picks for the client (a create reaches it at the next sync)", async () => {
    const peer = ip();
    await sys.request("POST", "/create", { url: uniqueUrl("where") }, { peer });
    const node = sys.composed.shards.at(sys.composed.router.current.write.shardFor(peer)).redis.client;
    await eventually(async () => (Number(await node.pttl(`rl:create:${peer}`)) > 0 ? true : undefined), "the create bucket in Redis", 5000);
  });

  test("a prober's steady rate of 404s is the redirect budget over the 404 cost, and 404s carry the RateLimit headers", async () => {
    const probes = await startSystem({ RATE_LIMIT_REDIRECT_PER_MIN: "1200", RATE_LIMIT_NOT_FOUND_COST: "20", INSTANCE_ID: "14" });
    try {
      const peer = ip();
      const started = performance.now();
      let notFound = 0;
      let limited = 0;
      let withHeaders = 0;
      // ~4 s of probing as fast as one client can: 20 tokens/s, burst 1200.
      while (performance.now() - started < 4000) {
        const res = await probes.request("GET", `/zz${crypto.randomUUID().slice(0, 6)}`, undefined, { peer });
        if (res.status === 404) notFound++;
        else if (res.status === 429) limited++;
        if (res.headers.get("ratelimit-remaining") !== null) withHeaders++;
        await res.arrayBuffer();
      }
      const seconds = (performance.now() - started) / 1000;
      // The burst pays for 1200 / 20 = 60 probes, then 20 tokens/s pay for one 404 a second.
      const allowed = 1200 / 20 + seconds * (1200 / 60 / 20);
      expect(notFound).toBeLessThanOrEqual(Math.ceil(allowed) + 2);
      expect(notFound).toBeGreaterThanOrEqual(55);
      expect(limited).toBeGreaterThan(notFound);
      expect(withHeaders).toBe(notFound + limited);
    } finally {
      await probes.close();
    }
  });

  test("redirects are admitted in memory, and two instances converge on one shared budget through Redis", async () => {
    const env = { RATE_LIMIT_REDIRECT_PER_MIN: "60", RATE_LIMIT_SYNC_MS: "20", RATE_LIMIT_NOT_FOUND_COST: "10" };
    const a = await startSystem({ ...env, INSTANCE_ID: "16" });
    const b = await startSystem({ ...env, INSTANCE_ID: "17" });
    try {
      const url = uniqueUrl("shared-budget");
      const code = ((await (await a.request("POST", "/create", { url })).json()) as { short_code: string }).short_code;
      const peer = ip();
      const started = performance.now();
      let admitted = 0;
      for (let i = 0; i < 160; i++) {
        const res = await (i % 2 ? a : b).request("GET", `/${code}`, undefined, { peer });
        if (res.status === 302) admitted++;
        else expect(res.status).toBe(429);
        await Bun.sleep(5);
      }
      const seconds = (performance.now() - started) / 1000;
      // Alone, each instance would admit its own burst of 60 (120 in all). Shared: the burst, the
      // refill (one token a second, which each instance may see before the other spends it), and
      // what the other instance admits between two syncs (20 ms: a few requests here, more when
      // a busy machine delays the timer) before it hears of the rest.
      expect(admitted).toBeGreaterThanOrEqual(60);
      expect(admitted).toBeLessThanOrEqual(60 + 2 * Math.ceil(seconds) + 12);
      // The shared bucket in Redis holds the cluster's spending.
      await Promise.all([a.composed.admission!.sync(), b.composed.admission!.sync()]);
      const node = a.composed.shards.at(a.composed.router.current.write.shardFor(peer)).redis.client;
      expect(Number(await node.pttl(`rl:redirect:${peer}`))).toBeGreaterThan(50_000);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
