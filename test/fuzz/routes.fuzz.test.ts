/**
 * Property-based fuzzing of every route, in-process through the real front door against the
 * real cluster: whatever the method, path, percent-encoding, headers or body, the answer is
 * never a 5xx, an error is a JSON 4xx naming the problem, no node's breaker changes state (a
 * client's bad input is not a node failure), the server stays ready, and links stored before
 * still resolve.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { watchBreakers } from "../support/breaker-watch";
import { makeKey } from "../support/keys";
import { FUZZ_ROUTES, fuzzRequest, toRequest } from "../../harness/fuzz-requests";
import { startSystem, uniqueUrl, type TestSystem } from "../../harness/system";

const RUNS = Number(process.env.FUZZ_RUNS ?? 2500);
let sys: TestSystem;
let stored: Array<{ code: string; url: string }> = [];
let key: { text: string };
let adminKey: { text: string };
let breakers: ReturnType<typeof watchBreakers>;

beforeAll(async () => {
  // Closed observability (the default): the access checks are part of what is fuzzed.
  sys = await startSystem({ RATE_LIMIT_ENABLED: "false", INSTANCE_ID: "15", DB_TIMEOUT_MS: "3000", ANALYTICS_FLUSH_MS: "0", TRUSTED_PROXIES: "127.0.0.1", OBSERVABILITY_PUBLIC: "false", ADMIN_TOKEN: "fuzz-admin-token-0123456789" });
  [key, adminKey] = await Promise.all([makeKey(sys.config, "fuzz"), makeKey(sys.config, "fuzz-admin", "admin")]);
  for (let i = 0; i < 5; i++) {
    const url = uniqueUrl("fuzz-keep");
    const res = await sys.request("POST", "/create", { url });
    stored.push({ code: ((await res.json()) as { short_code: string }).short_code, url });
  }
  breakers = watchBreakers(sys.composed.shards);
});
afterAll(async () => {
  breakers.stop();
  // What the fuzz blocked with its admin key is the whole test cluster's blocklist: taken back.
  const admin = { headers: { authorization: `Bearer ${adminKey.text}` } };
  const list = (await (await sys.request("GET", "/api/admin/blocklist", undefined, admin)).json()) as { entries: Array<{ host: string; source: string }> };
  for (const e of list.entries.filter((e) => e.source === "api")) await sys.request("DELETE", `/api/admin/blocklist?host=${encodeURIComponent(e.host)}`, undefined, admin);
  return sys.close();
});

describe("fuzz: every route, random input", () => {
  test(`${RUNS} random requests: never a 5xx, never a hang; errors are JSON naming the problem`, async () => {
    const failures: string[] = [];
    await fc.assert(
      fc.asyncProperty(fuzzRequest, fc.constantFrom("random", "user", "admin"), async (r, credential) => {
        if (credential !== "random") r.headers.authorization = `Bearer ${credential === "admin" ? adminKey.text : key.text}`;
        const started = performance.now();
        const res = await Promise.race([sys.composed.fetch(toRequest("http://localhost", r)), Bun.sleep(15_000).then(() => null)]);
        if (res === null) throw new Error(`${r.method} ${r.path}: no answer within 15 s`);
        const text = await res.text();
        if (res.status >= 500) failures.push(`${r.method} ${r.path} → ${res.status} ${text.slice(0, 200)}`);
        if (res.status >= 400 && r.method !== "HEAD") {
          const error = (JSON.parse(text) as { error?: { code?: unknown; message?: unknown } }).error;
          if (typeof error?.code !== "string" || typeof error.message !== "string" || error.message === "") failures.push(`${r.method} ${r.path} → ${res.status} without a JSON error: ${text.slice(0, 200)}`);
        }
        return failures.length === 0 && performance.now() - started < 15_000;
      }),
      { numRuns: RUNS, seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31) },
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${failures.slice(0, 5).join("\n")}`);
    });
    expect(failures).toEqual([]);
  }, 300_000);

  test("random user agents, referrers, languages and forwarded-for values on redirects: never a 5xx, every click counted and enriched, humans + bots = total", async () => {
    const url = uniqueUrl("fuzz-clicks");
    const code = ((await (await sys.request("POST", "/create", { url })).json()) as { short_code: string }).short_code;
    // Any byte a header may carry (visible ASCII, tabs, obs-text), real agents, and empty values.
    const text = fc.oneof(
      fc.array(fc.integer({ min: 0x20, max: 0xff }).filter((c) => c !== 0x7f), { maxLength: 300 }).map((cs) => String.fromCharCode(...cs).trim()),
      fc.constantFrom("", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", "Slackbot-LinkExpanding 1.0", "https://www.google.com/", "android-app://com.slack/", "en-GB,en;q=0.8", "*;q=0", "1.2.3.4, 10.0.0.1", "::1", "999.1.1.1"),
    );
    const header = fc.option(text, { nil: undefined });
    const clicks = fc.record({ agent: header, referrer: header, language: header, forwarded: fc.oneof(header, fc.ipV4(), fc.ipV6()), head: fc.boolean() });
    let sent = 0;
    await fc.assert(
      fc.asyncProperty(clicks, async (c) => {
        const headers = Object.fromEntries(Object.entries({ "user-agent": c.agent, referer: c.referrer, "accept-language": c.language, "x-forwarded-for": c.forwarded }).filter((e): e is [string, string] => e[1] !== undefined));
        const res = await sys.request(c.head ? "HEAD" : "GET", `/${code}`, undefined, { headers });
        sent++;
        return res.status === 302 && res.headers.get("location") === url;
      }),
      { numRuns: 400 },
    );
    await sys.composed.clickFlusher.flush();
    const admin = { authorization: "Bearer fuzz-admin-token-0123456789" };
    const stats = (await (await sys.request("GET", `/api/links/${code}/stats`, undefined, { headers: admin })).json()) as { total: number; humans: number; bots: number; unclassified: number };
    expect([stats.total, stats.humans + stats.bots, stats.unclassified]).toEqual([sent, sent, 0]);
    const countries = (await (await sys.request("GET", `/api/links/${code}/stats/country?limit=1000`, undefined, { headers: admin })).json()) as { items: Array<{ clicks: number }>; other: { clicks: number } };
    expect(countries.items.reduce((n, i) => n + i.clicks, countries.other.clicks)).toBe(sent);
    const metrics = await (await sys.request("GET", "/metrics", undefined, { headers: admin })).text();
    expect(metrics).toMatch(/^shorten_clicks\{state="unenriched"\} 0$/m);
  }, 120_000);

  test("afterwards no breaker has changed state, the server is ready (status ok) and every link stored before still resolves", async () => {
    expect(breakers.changes()).toEqual([]);
    const ready = await sys.request("GET", "/health/ready");
    expect([ready.status, ((await ready.json()) as { status: string }).status]).toEqual([200, "ok"]);
    for (const { code, url } of stored) {
      const res = await sys.request("GET", `/${code}`);
      expect([res.status, res.headers.get("location")]).toEqual([302, url]);
    }
  });

  test("the generator aims at every route the spec publishes", async () => {
    const spec = (await (await sys.request("GET", "/openapi.json")).json()) as { paths: Record<string, unknown> };
    const templates = Object.keys(spec.paths).map((p) => p.replace(/\{\w+\}/g, ":x"));
    expect(templates.length).toBeGreaterThan(10);
    expect(templates.filter((t) => !FUZZ_ROUTES.includes(t))).toEqual([]);
  });

  test.each(["/%", "/%ff%fe", "/ab%zz", "/%E0%A4%A", "/api/links/%zz", "/api/links/%/stats"])("a malformed percent-encoding (%p) is a 404 JSON, not a 500", async (path) => {
    const res = await sys.composed.fetch(new Request(`http://localhost${path}`, { headers: { authorization: `Bearer ${key.text}` } }));
    expect(res.status).toBeLessThan(500);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBeString();
  });
});

describe("fuzz with rate limiting on (as shipped): redirect budgets in memory, the rest in Redis", () => {
  const RUNS_LIMITED = Math.ceil(RUNS / 4);
  let limited: TestSystem;
  let watch: ReturnType<typeof watchBreakers>;
  let link: { code: string; url: string };
  beforeAll(async () => {
    // Small budgets, so refusals and the 404 surcharge happen; a fast sync, so the shared buckets are written meanwhile.
    limited = await startSystem({ INSTANCE_ID: "18", DB_TIMEOUT_MS: "3000", RATE_LIMIT_REDIRECT_PER_MIN: "600", RATE_LIMIT_SYNC_MS: "20", TRUSTED_PROXIES: "127.0.0.1" });
    const url = uniqueUrl("fuzz-limited");
    link = { code: ((await (await limited.request("POST", "/create", { url })).json()) as { short_code: string }).short_code, url };
    watch = watchBreakers(limited.composed.shards);
  });
  afterAll(() => {
    watch.stop();
    return limited.close();
  });

  test(`${RUNS_LIMITED} random requests, a third of them redirects of a stored link: never a 5xx, a refusal is a JSON 429, no breaker moves, the budgets still sync`, async () => {
    const failures: string[] = [];
    const request = fc.oneof(fuzzRequest, fuzzRequest.map((r) => ({ ...r, method: "GET", path: `/${link.code}`, body: null })));
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const res = await Promise.race([limited.composed.fetch(toRequest("http://localhost", r)), Bun.sleep(15_000).then(() => null)]);
        if (res === null) throw new Error(`${r.method} ${r.path}: no answer within 15 s`);
        const text = await res.text();
        if (res.status >= 500) failures.push(`${r.method} ${r.path} → ${res.status} ${text.slice(0, 200)}`);
        if (res.status === 429 && (JSON.parse(text) as { error?: { code?: string } }).error?.code !== "rate-limited") failures.push(`${r.method} ${r.path} → 429 ${text.slice(0, 200)}`);
        return failures.length === 0;
      }),
      { numRuns: RUNS_LIMITED, seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31) },
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${failures.slice(0, 5).join("\n")}`);
    });
    expect(failures).toEqual([]);
    expect(watch.changes()).toEqual([]);
    const ready = await limited.request("GET", "/health/ready");
    expect(ready.status).toBe(200);
    // After whatever client keys the generator forged, a client's spending still reaches its shared bucket.
    const peer = `198.51.100.${Math.floor(Math.random() * 250) + 1}`;
    expect((await limited.request("GET", `/${link.code}`, undefined, { peer })).headers.get("location")).toBe(link.url);
    await limited.composed.admission!.sync();
    const node = limited.composed.shards.at(limited.composed.router.current.write.shardFor(peer)).redis.client;
    expect(Number(await node.pttl(`rl:redirect:${peer}`))).toBeGreaterThan(0);
  }, 300_000);
});
