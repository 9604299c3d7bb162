import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { HashRing } from "../../src/domain/ring";
import { startSystem, uniqueUrl, type TestSystem } from "../../harness/system";

let sys: TestSystem;
beforeAll(async () => {
  sys = await startSystem({ RATE_LIMIT_ENABLED: "false" });
});
afterAll(() => sys.close());

async function create(url: string) {
  const res = await sys.request("POST", "/create", { url });
  return { res, body: (await res.json()) as Record<string, unknown> };
}

describe("POST /create", () => {
  test("201 with short_code, short_url and the normalised long_url", async () => {
    const url = uniqueUrl("create");
    const { res, body } = await create(url);
    expect(res.status).toBe(201);
    expect(body.long_url).toBe(url);
    expect(body.created).toBe(true);
    expect(typeof body.short_code).toBe("string");
    expect(body.short_url).toBe(`${sys.config.PUBLIC_BASE_URL}/${body.short_code}`);
    expect(res.headers.get("location")).toBe(body.short_url as string);
  });

  test("long_url is accepted as an alias", async () => {
    const url = uniqueUrl("alias");
    const res = await sys.request("POST", "/create", { long_url: url });
    expect(res.status).toBe(201);
    expect(((await res.json()) as { long_url: string }).long_url).toBe(url);
  });

  test("the same long URL gives the same code (200, created: false)", async () => {
    const url = uniqueUrl("dedupe");
    const first = await create(url);
    const second = await create(url);
    expect(second.res.status).toBe(200);
    expect(second.body.created).toBe(false);
    expect(second.body.short_code).toBe(first.body.short_code);
  });

  test("URLs that normalise to the same href share a code", async () => {
    const path = `/norm/${crypto.randomUUID()}`;
    const a = await create(`https://EXAMPLE.com${path}`);
    const b = await create(`https://example.com:443${path}`);
    expect(b.body.short_code).toBe(a.body.short_code);
  });

  test("200 concurrent creates of one URL give one code", async () => {
    const url = uniqueUrl("race");
    const results = await Promise.all(Array.from({ length: 200 }, () => create(url)));
    const codes = new Set(results.map((r) => r.body.short_code));
    expect(results.every((r) => r.res.status === 201 || r.res.status === 200)).toBe(true);
    expect(codes.size).toBe(1);
    expect(results.filter((r) => r.body.created === true).length).toBeLessThanOrEqual(200);
    const resolved = await sys.request("GET", `/${[...codes][0]}`);
    expect(resolved.headers.get("location")).toBe(url);
  });

  test("codes land on the shard the ring picks, and creates spread over shards", async () => {
    const ring = new HashRing(sys.config.shards.length);
    const shards = new Set<number>();
    for (let i = 0; i < 30; i++) {
      const res = await sys.request("POST", "/create", { url: uniqueUrl("spread") });
      const body = (await res.json()) as { short_code: string };
      const shard = Number(res.headers.get("x-shard"));
      expect(shard).toBe(ring.shardFor(body.short_code));
      shards.add(shard);
    }
    expect(shards.size).toBe(sys.config.shards.length);
  });
});

describe("GET /:code", () => {
  test("redirects with the configured status, and says where the answer came from", async () => {
    const url = uniqueUrl("redirect");
    const { body } = await create(url);
    const res = await sys.request("GET", `/${body.short_code}`);
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe(url);
    expect(res.headers.get("x-cache")).toBe("HIT");
    expect(res.headers.get("x-source")).toBe("redis");
  });

  test("a cache miss reads the database and refills Redis", async () => {
    const url = uniqueUrl("miss");
    const { body } = await create(url);
    const code = body.short_code as string;
    const shard = sys.composed.shards.at(sys.composed.router.current.read.shardFor(code));
    await shard.redis.client.del(`l:${code}`);
    const miss = await sys.request("GET", `/${code}`);
    expect(miss.headers.get("x-cache")).toBe("MISS");
    expect(["replica", "primary"]).toContain(miss.headers.get("x-source")!);
    expect(miss.headers.get("location")).toBe(url);
    const refilled = await waitFor(() => shard.redis.client.get(`l:${code}`));
    expect(refilled).toBe(url);
    const hit = await sys.request("GET", `/${code}`);
    expect(hit.headers.get("x-cache")).toBe("HIT");
  });

  test("a replica miss is not a 404: the primary answers while the replica lags", async () => {
    const code = "1" + crypto.randomUUID().replace(/-/g, "").slice(0, 9).replace(/[^0-9a-zA-Z]/g, "a");
    const shard = sys.composed.shards.at(sys.composed.router.current.read.shardFor(code));
    // Written on the primary only, never cached: the replica may or may not have it yet.
    await shard.primary.client`insert into links (code, id, long_url) values (${code}, ${String(BigInt(Date.now()) * 1000n + BigInt(Math.floor(Math.random() * 1000)))}, ${"https://example.com/lag"})`;
    const res = await sys.request("GET", `/${code}`);
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("https://example.com/lag");
  });

  test("HEAD redirects too", async () => {
    const { body } = await create(uniqueUrl("head"));
    const res = await sys.request("HEAD", `/${body.short_code}`);
    expect(res.status).toBe(302);
  });

  test("a 302 carries no cache-control; with REDIRECT_STATUS=301 the redirect says not to cache it", async () => {
    const { body } = await create(uniqueUrl("cc"));
    const temporary = await sys.request("GET", `/${body.short_code}`);
    expect([temporary.status, temporary.headers.get("cache-control")]).toEqual([302, null]);
    const permanentSys = await startSystem({ RATE_LIMIT_ENABLED: "false", REDIRECT_STATUS: "301", INSTANCE_ID: "47" });
    try {
      const permanent = await permanentSys.request("GET", `/${body.short_code}`);
      expect([permanent.status, permanent.headers.get("cache-control"), permanent.headers.get("location")]).toEqual([301, "private, max-age=0", String(body.long_url)]);
    } finally {
      await permanentSys.close();
    }
  });

  test("unknown code: 404 JSON", async () => {
    const res = await sys.request("GET", "/zzzzzzzzzz");
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: "short-url-not-found", message: 'no short URL "zzzzzzzzzz"' } });
  });

  // Codes are Base62 up to 11 characters and aliases 1-64 of [A-Za-z0-9_-]: nothing else can exist.
  test.each(["not.a.code", "abc~def", "a".repeat(65), "%F0%9F%98%80", "x%20y", "semi;colon"])("impossible shape %p: 404 without touching storage", async (code) => {
    const before = sys.composed.cacheMetrics.shards.map((s) => s.misses);
    const res = await sys.request("GET", `/${code}`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("short-url-not-found");
    // No shard saw the read: it was refused before the ring.
    expect(sys.composed.cacheMetrics.shards.map((s) => s.misses)).toEqual(before);
  });

  test("the metrics count hits and misses", async () => {
    const { body } = await create(uniqueUrl("metrics"));
    const before = sys.composed.cacheMetrics.snapshot();
    await sys.request("GET", `/${body.short_code}`);
    await sys.request("GET", "/zzzzzzzzzz");
    const after = sys.composed.cacheMetrics.snapshot();
    expect(after.cache_hit_count).toBe(before.cache_hit_count + 1);
    expect(after.cache_miss_count).toBe(before.cache_miss_count + 1);
    expect(after.cache_hit_rate).toBeCloseTo(after.cache_hit_count / after.cache_total, 4);
  });
});

describe("health", () => {
  test("liveness", async () => {
    const res = await sys.request("GET", "/health/live");
    expect(res.status).toBe(200);
  });
  test("readiness reports every node of every shard", async () => {
    const res = await sys.request("GET", "/health/ready");
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; shards: { nodes: { name: string; up: boolean }[] }[] };
    expect(body.status).toBe("ok");
    expect(body.shards.length).toBe(sys.config.shards.length);
    expect(body.shards.flatMap((s) => s.nodes).every((n) => n.up)).toBe(true);
  });
  test("unknown route under a reserved path is a JSON 404", async () => {
    const res = await sys.request("GET", "/health/nope");
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("route-not-found");
  });
});

async function waitFor<T>(read: () => Promise<T | null>, timeoutMs = 3000): Promise<T | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== null || Date.now() > deadline) return value;
    await Bun.sleep(20);
  }
}
