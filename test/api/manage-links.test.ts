/**
 * The links management API in the style of a security suite: per route the happy path, bad
 * input (a clear 4xx JSON, never a 5xx), authorization (no key, wrong key, revoked key, another
 * key's link), and the races (two creates of one alias, an edit racing a delete).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eventually } from "../../harness/eventually";
import { makeKey, revokeKeyNow } from "../support/keys";
import { startSystem, uniqueUrl, type TestSystem } from "../../harness/system";

let sys: TestSystem;
let other: TestSystem;
let keyA: { id: string; text: string };
let keyB: { id: string; text: string };
beforeAll(async () => {
  sys = await startSystem({ RATE_LIMIT_ENABLED: "false", INSTANCE_ID: "11", KEYS_POLL_MS: "500" });
  other = await startSystem({ RATE_LIMIT_ENABLED: "false", INSTANCE_ID: "12", KEYS_POLL_MS: "500" });
  keyA = await makeKey(sys.config, "suite-a");
  keyB = await makeKey(sys.config, "suite-b");
});
afterAll(async () => {
  await sys.close();
  await other.close();
});

const auth = (key: { text: string }) => ({ authorization: `Bearer ${key.text}` });
const uniqueAlias = () => `t-${crypto.randomUUID().slice(0, 12)}`;

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = auth(keyA), s: TestSystem = sys) {
  const res = await s.request(method, path, body, { headers });
  const text = await res.text();
  let json: any = null;
  try {
    json = text === "" ? null : JSON.parse(text);
  } catch {
    json = text;
  }
  if (res.status >= 500) throw new Error(`${method} ${path} answered ${res.status}: ${text}`);
  return { status: res.status, body: json, headers: res.headers };
}

const create = (body: Record<string, unknown>, headers?: Record<string, string>) => call("POST", "/create", body, headers);
const redirect = async (code: string, s: TestSystem = sys) => {
  const res = await s.request("GET", `/${code}`);
  return { status: res.status, location: res.headers.get("location"), body: (res.status === 302 ? null : await res.json()) as any };
};

describe("API keys", () => {
  test("Bearer and X-API-Key both work; the link belongs to the key", async () => {
    const a = await create({ url: uniqueUrl("bearer") });
    const b = await create({ url: uniqueUrl("x-api-key") }, { "x-api-key": keyA.text });
    expect([a.status, b.status]).toEqual([201, 201]);
    expect((await call("GET", `/api/links/${b.body.short_code}`)).status).toBe(200);
  });

  test.each([
    ["a wrong key", { authorization: "Bearer shk_AAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBBBBBB" }],
    ["junk", { authorization: "Bearer not-a-key" }],
    ["an empty X-API-Key", { "x-api-key": "x" }],
  ])("%s is a 401 JSON on create and on management, never anonymous", async (_what, headers) => {
    for (const [method, path, body] of [["POST", "/create", { url: uniqueUrl("wrong") }], ["GET", "/api/links", undefined]] as const) {
      const res = await call(method, path, body, headers);
      expect([res.status, res.body.error.code]).toEqual([401, "unauthorized"]);
    }
  });

  test("management without a key is 401; anonymous creates stay possible", async () => {
    expect((await call("GET", "/api/links", undefined, {})).status).toBe(401);
    expect((await create({ url: uniqueUrl("anon") }, {})).status).toBe(201);
  });

  test("a revoked key stops working on every instance within a second or two", async () => {
    const key = await makeKey(sys.config, "to-revoke");
    expect((await call("GET", "/api/links", undefined, auth(key), other)).status).toBe(200);
    await revokeKeyNow(sys.config, key.id);
    await eventually(async () => ((await call("GET", "/api/links", undefined, auth(key), other)).status === 401 ? true : undefined), "the revoked key to be refused", 2500);
    expect((await call("GET", "/api/links", undefined, auth(key), sys)).status).toBe(401);
  });

  test("ANONYMOUS_CREATE=false: a create without a key is 401", async () => {
    const closed = await startSystem({ RATE_LIMIT_ENABLED: "false", INSTANCE_ID: "13", ANONYMOUS_CREATE: "false" });
    try {
      expect((await closed.request("POST", "/create", { url: uniqueUrl("closed") })).status).toBe(401);
      expect((await closed.request("POST", "/create", { url: uniqueUrl("closed") }, { headers: auth(keyA) })).status).toBe(201);
    } finally {
      await closed.close();
    }
  });

  test("dedupe is per owner: the same URL gets one code per key, another for anonymous", async () => {
    const url = uniqueUrl("per-owner");
    const a1 = await create({ url });
    const a2 = await create({ url });
    const b = await create({ url }, auth(keyB));
    const anon = await create({ url }, {});
    expect(a2.body.short_code).toBe(a1.body.short_code);
    expect(new Set([a1.body.short_code, b.body.short_code, anon.body.short_code]).size).toBe(3);
  });
});

describe("custom aliases", () => {
  test("an alias redirects in any case; a taken alias in another case is 409 alias-taken", async () => {
    const alias = uniqueAlias();
    const url = uniqueUrl("alias");
    const made = await create({ url, alias: alias.toUpperCase() });
    expect([made.status, made.body.short_code]).toEqual([201, alias]);
    for (const spelling of [alias, alias.toUpperCase()]) expect(await redirect(spelling)).toMatchObject({ status: 302, location: url });
    const again = await create({ url: uniqueUrl("alias2"), alias }, auth(keyB));
    expect([again.status, again.body.error.code]).toEqual([409, "alias-taken"]);
  });

  test("two concurrent creates of one alias: one 201, one 409", async () => {
    const alias = uniqueAlias();
    const results = await Promise.all([create({ url: uniqueUrl("race1"), alias }), create({ url: uniqueUrl("race2"), alias }, auth(keyB))]);
    expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
  });

  test.each([
    ["without a key", { alias: "nokey-1" }, {}, 401, "unauthorized"],
    ["with a space", { alias: "a b" }, undefined, 400, "invalid-body"],
    ["too long", { alias: "a".repeat(65) }, undefined, 400, "invalid-body"],
    ["reserved", { alias: "Dashboard" }, undefined, 400, "invalid-body"],
    ["shaped like a generated code", { alias: "abcdefghij" }, undefined, 400, "invalid-body"],
    ["not a string", { alias: 42 }, undefined, 400, "invalid-body"],
    ["empty", { alias: "" }, undefined, 400, "invalid-body"],
  ])("an alias %s is refused", async (_what, extra, headers, status, code) => {
    const res = await create({ url: uniqueUrl("bad-alias"), ...extra }, headers as Record<string, string> | undefined);
    expect([res.status, res.body.error.code]).toEqual([status, code]);
  });
});

describe("expiry and visit budgets", () => {
  test("an expired link answers 410 link-gone, JSON", async () => {
    const made = await create({ url: uniqueUrl("expiring"), expires_at: new Date(Date.now() + 1500).toISOString() });
    expect((await redirect(made.body.short_code)).status).toBe(302);
    await Bun.sleep(1700);
    const gone = await redirect(made.body.short_code);
    expect([gone.status, gone.body.error.code]).toEqual([410, "link-gone"]);
  });

  test("max_visits: exactly that many redirects, then 410, on every instance", async () => {
    const made = await create({ url: uniqueUrl("budget"), max_visits: 3 });
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await redirect(made.body.short_code, i % 2 === 0 ? sys : other)).status);
    expect(statuses).toEqual([302, 302, 302, 410, 410]);
  });

  test.each([
    ["a past expires_at", { expires_at: "2020-01-01T00:00:00Z" }],
    ["a date that is not ISO", { expires_at: "tomorrow" }],
    ["max_visits 0", { max_visits: 0 }],
    ["a fractional max_visits", { max_visits: 1.5 }],
  ])("%s is 400", async (_what, extra) => {
    const res = await create({ url: uniqueUrl("bad-limit"), ...extra });
    expect([res.status, res.body.error.code]).toEqual([400, "invalid-body"]);
  });
});

describe("GET /api/links and /api/links/{code}", () => {
  test("newest first, cursor pages cover every link exactly once; another key sees none of them", async () => {
    const key = await makeKey(sys.config, "lister");
    const made: string[] = [];
    for (let i = 0; i < 7; i++) made.push((await create({ url: uniqueUrl(`list${i}`) }, auth(key))).body.short_code);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await call("GET", `/api/links?limit=3${cursor ? `&cursor=${cursor}` : ""}`, undefined, auth(key));
      expect(page.status).toBe(200);
      seen.push(...page.body.links.map((l: { short_code: string }) => l.short_code));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(seen).toEqual([...made].reverse());
    const b = await call("GET", "/api/links?limit=100", undefined, auth(keyB));
    expect(b.body.links.filter((l: { short_code: string }) => made.includes(l.short_code))).toEqual([]);
  });

  test.each([["limit=0"], ["limit=101"], ["limit=abc"], ["cursor=bm9wZQ"]])("a bad query (%s) is 400 invalid-query", async (q) => {
    const res = await call("GET", `/api/links?${q}`);
    expect([res.status, res.body.error.code]).toEqual([400, "invalid-query"]);
  });

  test("details include visits and clicks; another key's link and unknown codes are 404", async () => {
    const made = await create({ url: uniqueUrl("details"), max_visits: 10 });
    await redirect(made.body.short_code);
    await sys.composed.clickFlusher.flush();
    const details = await call("GET", `/api/links/${made.body.short_code}`);
    expect(details.body).toMatchObject({ short_code: made.body.short_code, max_visits: 10, visits: 1, clicks: 1, alias: false, expires_at: null });
    expect((await call("GET", `/api/links/${made.body.short_code}`, undefined, auth(keyB))).status).toBe(404);
    expect((await call("GET", "/api/links/zzzzzzzzzz")).status).toBe(404);
    expect((await call("GET", `/api/links/${made.body.short_code}/stats`, undefined, auth(keyB))).status).toBe(404);
    expect((await call("GET", `/api/links/${made.body.short_code}/stats`)).body.total).toBe(1);
  });
});

describe("PATCH and DELETE /api/links/{code}", () => {
  test("an edit takes effect at once on every instance, hot caches included", async () => {
    const made = await create({ url: uniqueUrl("before") });
    const code = made.body.short_code;
    for (const s of [sys, other, sys, other]) await redirect(code, s);
    const after = uniqueUrl("after");
    const patched = await call("PATCH", `/api/links/${code}`, { url: after });
    expect([patched.status, patched.body.long_url]).toEqual([200, after]);
    for (const s of [sys, other]) expect((await redirect(code, s)).location).toBe(after);
    // The old URL no longer dedupes to the edited code.
    expect((await create({ url: made.body.long_url })).body.short_code).not.toBe(code);
  });

  test("expiry can be set and removed by an edit", async () => {
    const made = await create({ url: uniqueUrl("limits") });
    const code = made.body.short_code;
    await call("PATCH", `/api/links/${code}`, { max_visits: 1 });
    expect((await redirect(code)).status).toBe(302);
    expect((await redirect(code, other)).status).toBe(410);
    await call("PATCH", `/api/links/${code}`, { max_visits: null });
    expect((await redirect(code)).status).toBe(302);
  });

  test("delete: 204, then 404 everywhere (hot caches and Redis included); a second delete is 404", async () => {
    const made = await create({ url: uniqueUrl("doomed") });
    const code = made.body.short_code;
    for (const s of [sys, other]) await redirect(code, s);
    expect((await call("DELETE", `/api/links/${code}`)).status).toBe(204);
    for (const s of [sys, other]) expect((await redirect(code, s)).status).toBe(404);
    expect((await call("DELETE", `/api/links/${code}`)).status).toBe(404);
  });

  test("another key can neither edit nor delete a link (404), and the link is untouched", async () => {
    const made = await create({ url: uniqueUrl("mine") });
    expect((await call("PATCH", `/api/links/${made.body.short_code}`, { url: uniqueUrl("theirs") }, auth(keyB))).status).toBe(404);
    expect((await call("DELETE", `/api/links/${made.body.short_code}`, undefined, auth(keyB))).status).toBe(404);
    expect((await redirect(made.body.short_code)).location).toBe(made.body.long_url);
  });

  test.each([
    ["an empty body", {}],
    ["a bad URL", { url: "javascript:alert(1)" }],
    ["a past expiry", { expires_at: "2001-01-01T00:00:00Z" }],
    ["a wrong type", { max_visits: "ten" }],
  ])("an edit with %s is 400 and changes nothing", async (_what, body) => {
    const made = await create({ url: uniqueUrl("keep") });
    const res = await call("PATCH", `/api/links/${made.body.short_code}`, body);
    expect(res.status).toBe(400);
    expect((await redirect(made.body.short_code)).location).toBe(made.body.long_url);
  });

  test("an edit racing a delete: the link ends deleted and never comes back", async () => {
    for (let i = 0; i < 5; i++) {
      const made = await create({ url: uniqueUrl(`race${i}`) });
      const code = made.body.short_code;
      await redirect(code);
      const [patched, deleted] = await Promise.all([call("PATCH", `/api/links/${code}`, { url: uniqueUrl("late") }), call("DELETE", `/api/links/${code}`)]);
      expect([200, 404]).toContain(patched.status);
      expect(deleted.status).toBe(204);
      for (const s of [sys, other]) expect((await redirect(code, s)).status).toBe(404);
    }
  });
});

describe("bulk, export, import", () => {
  test("bulk: per-item results; one bad URL fails only itself", async () => {
    const urls = [uniqueUrl("b1"), "ftp://nope", uniqueUrl("b3")];
    const res = await call("POST", "/api/links/bulk", { links: urls.map((url) => ({ url })) });
    expect(res.status).toBe(200);
    expect(res.body.results.map((r: any) => ("error" in r ? r.error.code : "ok"))).toEqual(["ok", "invalid-url", "ok"]);
    expect([res.body.created, res.body.failed]).toEqual([2, 1]);
    for (const r of res.body.results.filter((x: any) => x.short_code)) expect((await redirect(r.short_code)).status).toBe(302);
  });

  test.each([
    ["no links", { links: [] }],
    ["1001 links", { links: Array.from({ length: 1001 }, () => ({ url: "https://example.com/" })) }],
    ["not an array", { links: "x" }],
  ])("bulk with %s is 400", async (_what, body) => {
    expect((await call("POST", "/api/links/bulk", body)).status).toBe(400);
  });

  test("export streams every link of the key as NDJSON; import reads NDJSON and CSV with a summary", async () => {
    const key = await makeKey(sys.config, "porter");
    const good = [uniqueUrl("i1"), uniqueUrl("i2"), uniqueUrl("i3")];
    const ndjson = [...good.map((url) => JSON.stringify({ url })), "{not json", JSON.stringify({ url: "nope://x" }), JSON.stringify({ url: good[0] }), JSON.stringify({ url: uniqueUrl("i4"), alias: uniqueAlias() })].join("\n");
    const imported = await sys.request("POST", "/api/links/import", undefined, { headers: { ...auth(key), "content-type": "application/x-ndjson" }, raw: ndjson });
    expect(await imported.json()).toMatchObject({ created: 4, duplicate: 1, invalid: 2, failed: 0 });
    const csv = `url,alias\n${uniqueUrl("c1")},\n"${uniqueUrl("c2")}",${uniqueAlias()}\n,\n`;
    const fromCsv = await sys.request("POST", "/api/links/import", undefined, { headers: { ...auth(key), "content-type": "text/csv" }, raw: csv });
    expect(await fromCsv.json()).toMatchObject({ created: 2, invalid: 1 });
    const exported = await sys.request("GET", "/api/links/export", undefined, { headers: auth(key) });
    expect(exported.headers.get("content-type")).toContain("application/x-ndjson");
    const lines = (await exported.text()).trim().split("\n").map((l) => JSON.parse(l) as { long_url: string });
    expect(lines).toHaveLength(6);
    for (const url of good) expect(lines.some((l) => l.long_url === url)).toBe(true);
    const wrongType = await sys.request("POST", "/api/links/import", undefined, { headers: { ...auth(key), "content-type": "text/plain" }, raw: "x" });
    expect(wrongType.status).toBe(415);
  });
});
