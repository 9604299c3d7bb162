import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startServer } from "../../harness/server-process";
import { eventually } from "../../harness/eventually";
import { startSystem, uniqueUrl, type TestSystem } from "../../harness/system";

const ADMIN_TOKEN = "test-admin-token-0123456789";
let sys: TestSystem;
let other: TestSystem;
beforeAll(async () => {
  sys = await startSystem({ RATE_LIMIT_ENABLED: "false", ADMIN_TOKEN, INSTANCE_ID: "7", CLICK_FLUSH_MS: "60000", ANALYTICS_FLUSH_MS: "0" });
  other = await startSystem({ RATE_LIMIT_ENABLED: "false", ADMIN_TOKEN, INSTANCE_ID: "8", CLICK_FLUSH_MS: "60000", ANALYTICS_FLUSH_MS: "0" });
});
afterAll(async () => {
  await sys.close();
  await other.close();
});

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

async function newCode(s: TestSystem = sys): Promise<{ code: string; url: string }> {
  const url = uniqueUrl("clicks");
  const res = await s.request("POST", "/create", { url });
  return { code: ((await res.json()) as { short_code: string }).short_code, url };
}

async function stats(code: string, query = "", s: TestSystem = sys) {
  const res = await s.request("GET", `/api/links/${code}/stats${query}`, undefined, { headers: admin });
  return { status: res.status, body: (await res.json()) as { total: number; granularity: string; series: Array<{ at: string; clicks: number }>; error?: { code: string } } };
}

describe("hot-link cache", () => {
  test("the second redirect of a link is served from memory: HIT, source memory, no Redis", async () => {
    const { code, url } = await newCode();
    const first = await sys.request("GET", `/${code}`);
    expect(first.headers.get("x-source")).not.toBe("memory");
    const second = await sys.request("GET", `/${code}`);
    expect([second.status, second.headers.get("location"), second.headers.get("x-cache"), second.headers.get("x-source")]).toEqual([302, url, "HIT", "memory"]);
    expect(sys.composed.cacheMetrics.memoryHitCount).toBeGreaterThan(0);
  });

  test("an unknown code is not cached: it answers 404 until it exists, then redirects at once", async () => {
    const missing = "zzzzzzzzzz";
    expect((await sys.request("GET", `/${missing}`)).status).toBe(404);
    expect(sys.composed.hot.get(missing)).toBeUndefined();
  });

  test("an invalidation published on one instance drops the link from every instance's hot cache", async () => {
    const { code } = await newCode();
    await sys.request("GET", `/${code}`);
    await other.request("GET", `/${code}`);
    expect(sys.composed.hot.get(code)).toBeDefined();
    expect(other.composed.hot.get(code)).toBeDefined();
    await sys.composed.invalidation.publish([code]);
    expect(sys.composed.hot.get(code)).toBeUndefined();
    await eventually(async () => (other.composed.hot.get(code) === undefined ? true : undefined), "the other instance to drop the code", 3000);
  });
});

describe("clicks", () => {
  test("every redirect is a click: stats count them once flushed, per hour and per day", async () => {
    const { code } = await newCode();
    for (let i = 0; i < 7; i++) expect((await sys.request("GET", `/${code}`)).status).toBe(302);
    await sys.composed.clickFlusher.flush();
    const hourly = await stats(code);
    expect(hourly.status).toBe(200);
    expect(hourly.body.total).toBe(7);
    expect(hourly.body.series).toHaveLength(1);
    expect(hourly.body.series[0]!.clicks).toBe(7);
    expect(hourly.body.series[0]!.at).toMatch(/T\d\d:00:00\.000Z$/);
    const daily = await stats(code, "?granularity=day");
    expect(daily.body.series[0]!.at).toMatch(/T00:00:00\.000Z$/);
    expect(daily.body.total).toBe(7);
  });

  test("clicks on two instances add up", async () => {
    const { code } = await newCode();
    for (let i = 0; i < 3; i++) await sys.request("GET", `/${code}`);
    for (let i = 0; i < 4; i++) await other.request("GET", `/${code}`);
    await Promise.all([sys.composed.clickFlusher.flush(), other.composed.clickFlusher.flush()]);
    expect((await stats(code, "", other)).body.total).toBe(7);
  });

  test("analytics on two instances add up: humans, bots and breakdowns are the sum of both, one visitor seen on both counts once", async () => {
    const { code } = await newCode();
    const firefox = { "user-agent": "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0" };
    for (let i = 0; i < 2; i++) await sys.request("GET", `/${code}`, undefined, { headers: firefox, peer: "198.51.100.7" });
    await other.request("GET", `/${code}`, undefined, { headers: firefox, peer: "198.51.100.7" });
    await other.request("GET", `/${code}`, undefined, { headers: { "user-agent": "Googlebot/2.1" }, peer: "198.51.100.8" });
    await Promise.all([sys.composed.clickFlusher.flush(), other.composed.clickFlusher.flush()]);
    const body = (await stats(code, "", sys)).body as unknown as { total: number; humans: number; bots: number; unique_visitors: number };
    expect([body.total, body.humans, body.bots, body.unique_visitors]).toEqual([4, 3, 1, 1]);
    const browsers = (await (await other.request("GET", `/api/links/${code}/stats/browser`, undefined, { headers: admin })).json()) as { items: Array<{ value: string; clicks: number; humans: number }> };
    expect(browsers.items).toEqual([
      { value: "Firefox", clicks: 3, humans: 3 },
      { value: "other", clicks: 1, humans: 0 },
    ]);
  });

  test("a link with no clicks has total 0; an unknown or impossible code is 404", async () => {
    const { code } = await newCode();
    expect((await stats(code)).body).toMatchObject({ total: 0, series: [] });
    expect((await stats("zzzzzzzzzz")).status).toBe(404);
    const bad = await stats("no*such");
    expect([bad.status, bad.body.error?.code]).toEqual([404, "short-url-not-found"]);
  });

  test("stats need the admin token: none or a wrong one is 401 JSON; a bad granularity is 400", async () => {
    const { code } = await newCode();
    for (const headers of [{}, { authorization: "Bearer wrong-token-wrong-token" }, { authorization: ADMIN_TOKEN }] as Record<string, string>[]) {
      const res = await sys.request("GET", `/api/links/${code}/stats`, undefined, { headers });
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("unauthorized");
    }
    const bad = await stats(code, "?granularity=minute");
    expect([bad.status, bad.body.error?.code]).toEqual([400, "invalid-query"]);
  });

  test("a graceful stop flushes first: no click is lost", async () => {
    const server = await startServer({ RATE_LIMIT_ENABLED: "false", INSTANCE_ID: "9", CLICK_FLUSH_MS: "60000", SHUTDOWN_DRAIN_MS: "0" });
    const create = await fetch(`${server.url}/create`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ url: uniqueUrl("graceful") }) });
    const { short_code: code } = (await create.json()) as { short_code: string };
    for (let i = 0; i < 25; i++) expect((await fetch(`${server.url}/${code}`, { redirect: "manual" })).status).toBe(302);
    expect(await server.stop("SIGTERM")).toBe(0);
    expect((await stats(code)).body.total).toBe(25);
  });
});

describe("analytics through a stop and a restart", () => {
  test("a SIGTERM writes the pending rollups: humans, bots, breakdowns and uniques are as sent, and the same read through the restarted instance", async () => {
    const env = { RATE_LIMIT_ENABLED: "false", INSTANCE_ID: "10", CLICK_FLUSH_MS: "60000", ANALYTICS_FLUSH_MS: "60000", SHUTDOWN_DRAIN_MS: "0", TRUSTED_PROXIES: "127.0.0.1" };
    const firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
    const server = await startServer(env);
    const create = await fetch(`${server.url}/create`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ url: uniqueUrl("restart") }) });
    const { short_code: code } = (await create.json()) as { short_code: string };
    const visit = (url: string, headers: Record<string, string>, method = "GET") => fetch(`${url}/${code}`, { method, redirect: "manual", headers });
    // Two visitors on Firefox (one of them twice), a crawler, and a HEAD check.
    for (const address of ["81.2.69.160", "81.2.69.160", "2.125.160.216"]) expect((await visit(server.url, { "user-agent": firefox, "x-forwarded-for": address, referer: "https://news.ycombinator.com/item?id=1" })).status).toBe(302);
    expect((await visit(server.url, { "user-agent": "Googlebot/2.1 (+http://www.google.com/bot.html)" })).status).toBe(302);
    expect((await visit(server.url, { "user-agent": firefox }, "HEAD")).status).toBe(302);
    expect(await server.stop("SIGTERM")).toBe(0);

    const figures = async (s: { request: TestSystem["request"] } | string) => {
      const get = (path: string) => (typeof s === "string" ? fetch(`${s}${path}`, { headers: admin }) : s.request("GET", path, undefined, { headers: admin }));
      const totals = (await (await get(`/api/links/${code}/stats`)).json()) as Record<string, unknown>;
      const browsers = (await (await get(`/api/links/${code}/stats/browser`)).json()) as { items: unknown[] };
      const referrers = (await (await get(`/api/links/${code}/stats/referrer`)).json()) as { items: unknown[] };
      return { totals: [totals.total, totals.humans, totals.bots, totals.unclassified, totals.unique_visitors], browsers: browsers.items, referrers: referrers.items };
    };
    const stored = await figures(sys);
    expect(stored).toEqual({
      totals: [5, 3, 2, 0, 2],
      browsers: [
        { value: "Firefox", clicks: 4, humans: 3 },
        { value: "other", clicks: 1, humans: 0 },
      ],
      referrers: [
        { value: "news.ycombinator.com", clicks: 3, humans: 3 },
        { value: "direct", clicks: 2, humans: 0 },
      ],
    });
    const restarted = await startServer({ ...env, ADMIN_TOKEN });
    try {
      expect(await figures(restarted.url)).toEqual(stored);
    } finally {
      await restarted.stop("SIGTERM");
    }
  });
});

describe("group-commit creates", () => {
  test("concurrent creates share statements; each URL gets its own code and every code resolves", async () => {
    const before = sys.composed.links.batcher.figures;
    const urls = Array.from({ length: 120 }, () => uniqueUrl("batch"));
    const made = await Promise.all(urls.map(async (url) => ({ url, res: await sys.request("POST", "/create", { url }) })));
    const codes = await Promise.all(made.map(async ({ res }) => (res.status === 201 ? ((await res.json()) as { short_code: string }).short_code : `HTTP ${res.status}`)));
    expect(new Set(codes).size).toBe(urls.length);
    const after = sys.composed.links.batcher.figures;
    const statements = after.statements - before.statements;
    expect(after.items - before.items).toBe(urls.length);
    expect(statements).toBeLessThan(urls.length);
    for (let i = 0; i < urls.length; i += 20) {
      const res = await sys.request("GET", `/${codes[i]}`);
      expect(res.headers.get("location")).toBe(urls[i]!);
    }
  });
});
