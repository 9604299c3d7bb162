/**
 * Click analytics end to end, in process against the real cluster: real user agents, referrers,
 * languages and client addresses (through a trusted proxy) go through the redirect, the worker
 * pool and the flush into PostgreSQL, and every figure and breakdown comes back exactly.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startSystem, uniqueUrl, type TestSystem } from "../../harness/system";
import { makeKey } from "../support/keys";

const ADMIN_TOKEN = "test-admin-token-analytics-0123";
const PROXY = "10.20.30.40";
let sys: TestSystem;
beforeAll(async () => {
  sys = await startSystem({ RATE_LIMIT_ENABLED: "false", ADMIN_TOKEN, TRUSTED_PROXIES: PROXY, CLICK_FLUSH_MS: "60000", ANALYTICS_FLUSH_MS: "0", HOT_CACHE_SIZE: "0" });
});
afterAll(() => sys.close());

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

const AGENTS = {
  chromeWindows: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
  safariIphone: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
  firefoxLinux: "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
  chromeAndroid: "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
  safariIpad: "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
  googlebot: "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
  slackbot: "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
  facebook: "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
  curl: "curl/8.5.0",
};

/** One click each: [method, user agent, referrer, Accept-Language, forwarded client address]. */
const CLICKS: Array<[string, string | null, string | null, string | null, string]> = [
  ["GET", AGENTS.chromeWindows, "https://www.google.com/search?q=shorten", "en-US,en;q=0.9", "8.8.8.8"],
  ["GET", AGENTS.chromeWindows, "https://www.google.com/", "en-GB", "8.8.8.8"],
  ["GET", AGENTS.safariIphone, "https://t.co/abc", "de-DE,de;q=0.8", "81.2.69.142"],
  ["GET", AGENTS.firefoxLinux, null, "fr", "2a00:1450:4001:80b::200e"],
  ["GET", AGENTS.chromeAndroid, "https://news.ycombinator.com/item?id=1", null, "1.1.1.1"],
  ["GET", AGENTS.safariIpad, "not a url", "*", "192.168.1.9"],
  ["GET", AGENTS.googlebot, null, null, "66.249.66.1"],
  ["GET", AGENTS.slackbot, null, null, "8.8.8.8"],
  ["GET", AGENTS.facebook, null, null, "8.8.8.8"],
  ["GET", AGENTS.curl, null, null, "8.8.8.8"],
  ["GET", null, null, null, "8.8.8.8"],
  ["HEAD", AGENTS.chromeWindows, null, "en", "8.8.8.8"],
];

let code: string;
beforeAll(async () => {
  const created = await sys.request("POST", "/create", { url: uniqueUrl("analytics") });
  code = ((await created.json()) as { short_code: string }).short_code;
  for (const [method, agent, referrer, language, client] of CLICKS) {
    const headers: Record<string, string> = { "x-forwarded-for": client };
    if (agent !== null) headers["user-agent"] = agent;
    if (referrer !== null) headers.referer = referrer;
    if (language !== null) headers["accept-language"] = language;
    const res = await sys.request(method, `/${code}`, undefined, { headers, peer: PROXY });
    expect(res.status).toBe(302);
  }
  await sys.composed.clickFlusher.flush();
});

async function get(path: string) {
  const res = await sys.request("GET", path, undefined, { headers: admin });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

const items = async (dimension: string) => ((await get(`/api/links/${code}/stats/${dimension}?limit=100`)) as { items: Array<{ value: string; clicks: number; humans: number }> }).items.map((i) => [i.value, i.clicks, i.humans]);

describe("click analytics", () => {
  test("totals: every redirect counted, humans and bots apart (HEAD, crawlers, preview fetchers, no user agent), unique visitors of the humans", async () => {
    const stats = (await get(`/api/links/${code}/stats?granularity=day`)) as { total: number; humans: number; bots: number; unclassified: number; unique_visitors: number; series: Array<Record<string, number>> };
    expect([stats.total, stats.humans, stats.bots, stats.unclassified]).toEqual([12, 6, 6, 0]);
    // The two Chrome/Windows clicks from 8.8.8.8 are one visitor.
    expect(stats.unique_visitors).toBe(5);
    expect(stats.series).toHaveLength(1);
    expect([stats.series[0]!.clicks, stats.series[0]!.humans, stats.series[0]!.bots, stats.series[0]!.unique_visitors]).toEqual([12, 6, 6, 5]);
  });

  test("country from the client address behind the trusted proxy (private and unknown addresses are unknown)", async () => {
    expect(await items("country")).toEqual([
      ["US", 8, 2],
      ["AU", 1, 1],
      ["DE", 1, 1],
      ["GB", 1, 1],
      ["unknown", 1, 1],
    ]);
  });

  test("referrer host without www, direct when none, other when it is not a URL", async () => {
    expect(await items("referrer")).toEqual([
      ["direct", 7, 1],
      ["google.com", 2, 2],
      ["news.ycombinator.com", 1, 1],
      ["other", 1, 1],
      ["t.co", 1, 1],
    ]);
  });

  test("device, browser and os families", async () => {
    expect(await items("device")).toEqual([
      ["other", 5, 0],
      ["desktop", 4, 3],
      ["mobile", 2, 2],
      ["tablet", 1, 1],
    ]);
    expect(await items("browser")).toEqual([
      ["other", 5, 0],
      ["Chrome", 4, 3],
      ["Safari", 2, 2],
      ["Firefox", 1, 1],
    ]);
    expect(await items("os")).toEqual([
      ["other", 5, 0],
      ["Windows", 3, 2],
      ["iOS", 2, 2],
      ["Android", 1, 1],
      ["Linux", 1, 1],
    ]);
  });

  test("language is the primary tag of the first Accept-Language entry; bot is human or bot", async () => {
    expect(await items("language")).toEqual([
      ["unknown", 7, 2],
      ["en", 3, 2],
      ["de", 1, 1],
      ["fr", 1, 1],
    ]);
    expect(await items("bot")).toEqual([
      ["human", 6, 6],
      ["bot", 6, 0],
    ]);
  });

  test("limit keeps the top values and sums the rest in other; a bad dimension or range is a 400", async () => {
    const top = (await get(`/api/links/${code}/stats/country?limit=2`)) as { items: unknown[]; other: { clicks: number; humans: number } };
    expect(top.items).toHaveLength(2);
    // US (8) and AU (1, first of the ties by name); DE, GB and unknown are the rest.
    expect(top.other).toEqual({ clicks: 3, humans: 3 });
    const bad = await sys.request("GET", `/api/links/${code}/stats/colour`, undefined, { headers: admin });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe("invalid-query");
    const backwards = await sys.request("GET", `/api/links/${code}/stats?from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z`, undefined, { headers: admin });
    expect(backwards.status).toBe(400);
  });

  test("stats.csv: the rollup rows, quoted where needed, agreeing with the JSON figures", async () => {
    const res = await sys.request("GET", `/api/links/${code}/stats.csv`, undefined, { headers: admin });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    const [header, ...lines] = (await res.text()).trimEnd().split("\n");
    expect(header).toBe("hour,dimension,value,clicks,humans");
    const rows = lines.map((l) => l.split(","));
    const sum = (dimension: string, column: 3 | 4) => rows.filter((r) => r[1] === dimension).reduce((n, r) => n + Number(r[column]), 0);
    expect([sum("all", 3), sum("all", 4)]).toEqual([12, 6]);
    expect(rows.filter((r) => r[1] === "bot").map((r) => [r[2], r[3]]).sort()).toEqual([["bot", "6"], ["human", "6"]]);
    expect([sum("country", 3), sum("country", 4)]).toEqual([12, 6]);
    expect(sum("unique_visitors", 3)).toBe(5);
    expect(new Set(rows.map((r) => r[0]))).toEqual(new Set([rows[0]![0]]));
  });

  test("requests for unknown codes are counted for admins: the total and the paths asked for most, on the metrics", async () => {
    const probe = `zz${crypto.randomUUID().slice(0, 8)}`;
    for (let i = 0; i < 3; i++) expect((await sys.request("GET", `/${probe}`)).status).toBe(404);
    expect((await sys.request("GET", `/${probe}x`)).status).toBe(404);
    await sys.composed.clusterMetrics.tick();
    const pushed = sys.composed.clusterMetrics.snapshot as { instance: { not_found: { total: number; top: Array<{ path: string; requests: number }> } } };
    expect(pushed.instance.not_found.total).toBeGreaterThanOrEqual(4);
    expect(pushed.instance.not_found.top).toContainEqual({ path: probe, requests: 3 });
    const metrics = await sys.request("GET", "/api/metrics", undefined, { headers: admin });
    expect(((await metrics.json()) as { cluster: { not_found: { total: number } } }).cluster.not_found.total).toBeGreaterThanOrEqual(4);
  });

  test("a range that ends before the clicks has none of them", async () => {
    const stats = (await get(`/api/links/${code}/stats?to=2020-01-01T00:00:00Z`)) as { total: number; unique_visitors: number };
    expect([stats.total, stats.unique_visitors]).toEqual([0, 0]);
  });
});

interface AccountBody {
  scope: string;
  total: number;
  humans: number;
  bots: number;
  unclassified: number;
  unique_visitors: number;
  links: number;
  series: Array<{ at: string; clicks: number; humans: number; bots: number; unique_visitors: number }>;
  top_links: Array<{ code: string; clicks: number; humans: number; bots: number }>;
  dimensions: Record<string, { items: Array<{ value: string; clicks: number; humans: number }>; other: { clicks: number; humans: number } }>;
}

describe("GET /api/stats: all of a key's links together; for an admin, the cluster", () => {
  let key: { text: string };
  let first: string;
  let second: string;
  const asKey = (path: string, k = key) => sys.request("GET", path, undefined, { headers: { authorization: `Bearer ${k.text}` } });
  const click = (link: string, [method, agent, referrer, language, client]: (typeof CLICKS)[number]) => {
    const headers: Record<string, string> = { "x-forwarded-for": client };
    if (agent !== null) headers["user-agent"] = agent;
    if (referrer !== null) headers.referer = referrer;
    if (language !== null) headers["accept-language"] = language;
    return sys.request(method, `/${link}`, undefined, { headers, peer: PROXY });
  };

  beforeAll(async () => {
    key = await makeKey(sys.config, "account-stats");
    const make = async (tag: string) => ((await (await sys.request("POST", "/create", { url: uniqueUrl(tag) }, { headers: { authorization: `Bearer ${key.text}` } })).json()) as { short_code: string }).short_code;
    [first, second] = [await make("account-a"), await make("account-b")];
    // Every click of the table on the first link; on the second, the first three (one visitor of both, two new).
    for (const c of CLICKS) expect((await click(first, c)).status).toBe(302);
    for (const c of CLICKS.slice(0, 3)) expect((await click(second, c)).status).toBe(302);
    await sys.composed.clickFlusher.flush();
  });

  test("a key's links add up: totals, humans and bots, uniques across links, top links, each dimension equal to the links' breakdowns summed", async () => {
    const res = await asKey("/api/stats?limit=100");
    expect(res.status).toBe(200);
    const body = (await res.json()) as AccountBody;
    expect(body.scope).toBe("key");
    expect([body.total, body.humans, body.bots, body.unclassified, body.links]).toEqual([15, 9, 6, 0, 2]);
    // The second link's two visitors (Chrome on Windows at 8.8.8.8, Safari on an iPhone) also
    // visited the first: the key has the first link's five visitors, not seven.
    expect(body.unique_visitors).toBe(5);
    expect(body.top_links).toEqual([
      { code: first, clicks: 12, humans: 6, bots: 6 },
      { code: second, clicks: 3, humans: 3, bots: 0 },
    ]);
    expect(body.series.reduce((n, p) => n + p.clicks, 0)).toBe(15);
    for (const dimension of ["country", "referrer", "device", "browser", "os", "language", "bot"]) {
      const perLink = await Promise.all([first, second].map(async (code) => ((await (await asKey(`/api/links/${code}/stats/${dimension}?limit=100`)).json()) as { items: Array<{ value: string; clicks: number; humans: number }> }).items));
      const summed = new Map<string, [number, number]>();
      for (const item of perLink.flat()) {
        const [c, h] = summed.get(item.value) ?? [0, 0];
        summed.set(item.value, [c + item.clicks, h + item.humans]);
      }
      const got = new Map(body.dimensions[dimension]!.items.map((i) => [i.value, [i.clicks, i.humans] as [number, number]]));
      expect(got).toEqual(summed);
      expect(body.dimensions[dimension]!.items.reduce((n, i) => n + i.clicks, 0)).toBe(15);
    }
  });

  test("limit keeps the top links and values and sums the rest in other", async () => {
    const body = (await (await asKey("/api/stats?limit=1")).json()) as AccountBody;
    expect(body.top_links.map((l) => l.code)).toEqual([first]);
    const browsers = body.dimensions.browser!;
    expect(browsers.items).toHaveLength(1);
    expect(browsers.items[0]!.clicks + browsers.other.clicks).toBe(15);
  });

  test("another key sees none of these links; the admin sees the cluster: its parts add up to its total, and three more clicks grow it by exactly three", async () => {
    const other = await makeKey(sys.config, "account-stats-other");
    const theirs = (await (await asKey("/api/stats", other)).json()) as AccountBody;
    expect([theirs.scope, theirs.total, theirs.links, theirs.top_links.length]).toEqual(["key", 0, 0, 0]);
    const clusterStats = async () => (await (await sys.request("GET", "/api/stats?limit=1000", undefined, { headers: admin })).json()) as AccountBody;
    const before = await clusterStats();
    expect(before.scope).toBe("cluster");
    expect(before.total).toBeGreaterThanOrEqual(15 + 12);
    expect(before.humans + before.bots + before.unclassified).toBe(before.total);
    const bot = before.dimensions.bot!;
    expect(bot.items.reduce((n, i) => n + i.clicks, 0) + bot.other.clicks).toBe(before.humans + before.bots);
    // Three more clicks on the key's first link (one human, two bots): the cluster grows by exactly those.
    for (const c of [CLICKS[0]!, CLICKS[6]!, CLICKS[11]!]) expect((await click(first, c)).status).toBe(302);
    await sys.composed.clickFlusher.flush();
    const after = await clusterStats();
    expect([after.total - before.total, after.humans - before.humans, after.bots - before.bots]).toEqual([3, 1, 2]);
    const firstOf = (b: AccountBody) => b.top_links.find((l) => l.code === first)?.clicks ?? 0;
    if (before.links <= 1000) expect(firstOf(before)).toBe(12);
    if (after.links <= 1000) expect(firstOf(after)).toBe(15);
    expect(((await (await asKey("/api/stats")).json()) as AccountBody).total).toBe(18);
  });

  test("no key is 401; a bad range, granularity or limit is a 400 naming it", async () => {
    expect((await sys.request("GET", "/api/stats")).status).toBe(401);
    for (const [query, word] of [["granularity=week", "granularity"], ["limit=0", "limit"], ["from=yesterday", "from"], ["from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", "from"]] as const) {
      const res = await asKey(`/api/stats?${query}`);
      expect(res.status).toBe(400);
      expect(JSON.stringify(await res.json())).toContain(word);
    }
  });
});

describe("a full click log", () => {
  test("sheds the details of the clicks past its capacity, never the clicks: every redirect is in total, the rest unclassified", async () => {
    const small = await startSystem({ RATE_LIMIT_ENABLED: "false", ADMIN_TOKEN, ANALYTICS_BUFFER: "2", CLICK_FLUSH_MS: "60000", ANALYTICS_FLUSH_MS: "0" });
    try {
      const created = await small.request("POST", "/create", { url: uniqueUrl("full-log") });
      const link = ((await created.json()) as { short_code: string }).short_code;
      for (let i = 0; i < 5; i++) expect((await small.request("GET", `/${link}`, undefined, { headers: { "user-agent": AGENTS.firefoxLinux } })).status).toBe(302);
      await small.composed.clickFlusher.flush();
      const res = await small.request("GET", `/api/links/${link}/stats`, undefined, { headers: admin });
      const stats = (await res.json()) as { total: number; humans: number; bots: number; unclassified: number };
      expect([stats.total, stats.humans, stats.bots, stats.unclassified]).toEqual([5, 2, 0, 3]);
    } finally {
      await small.close();
    }
  });
});

describe("click analytics with rate limiting on (the default)", () => {
  test("the client address the limiter resolved behind the proxy is the one analytics uses", async () => {
    const limited = await startSystem({ RATE_LIMIT_REDIRECT_PER_MIN: "100000", ADMIN_TOKEN, TRUSTED_PROXIES: PROXY, CLICK_FLUSH_MS: "60000", ANALYTICS_FLUSH_MS: "0" });
    try {
      const created = await limited.request("POST", "/create", { url: uniqueUrl("limited") }, { peer: "198.51.100.20" });
      const link = ((await created.json()) as { short_code: string }).short_code;
      const agent = { "user-agent": AGENTS.firefoxLinux };
      expect((await limited.request("GET", `/${link}`, undefined, { headers: { ...agent, "x-forwarded-for": "81.2.69.142" }, peer: PROXY })).status).toBe(302);
      // Not through the proxy: its X-Forwarded-For is the client's own claim, and not believed.
      expect((await limited.request("GET", `/${link}`, undefined, { headers: { ...agent, "x-forwarded-for": "81.2.69.142" }, peer: "8.8.8.8" })).status).toBe(302);
      await limited.composed.clickFlusher.flush();
      const res = await limited.request("GET", `/api/links/${link}/stats/country`, undefined, { headers: admin });
      expect(((await res.json()) as { items: Array<{ value: string; clicks: number }> }).items).toEqual([
        { value: "GB", clicks: 1, humans: 1 },
        { value: "US", clicks: 1, humans: 1 },
      ] as never);
    } finally {
      await limited.close();
    }
  });
});
