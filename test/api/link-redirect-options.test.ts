/**
 * What a redirect does besides sending the link's URL, against the real cluster: the short URL's
 * query string forwarded to the target (per link, on by default; the target's own parameters win;
 * the QR marker never goes), unknown codes sent to NOT_FOUND_REDIRECT_URL with the 404's rate-limit
 * charge kept, and the anonymous daily cap beside the per-minute budget.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { makeKey } from "../support/keys";
import { startSystem, uniqueUrl, type TestSystem } from "../../harness/system";

let sys: TestSystem;
let key: { id: string; text: string };
beforeAll(async () => {
  sys = await startSystem({ RATE_LIMIT_ENABLED: "false", INSTANCE_ID: "24", ANALYTICS_FLUSH_MS: "0" });
  key = await makeKey(sys.config, "redirect-options");
});
afterAll(() => sys.close());

async function create(body: Record<string, unknown>): Promise<string> {
  const res = await sys.request("POST", "/create", body, { headers: { authorization: `Bearer ${key.text}` } });
  expect(res.status).toBe(201);
  return ((await res.json()) as { short_code: string }).short_code;
}
const locationOf = async (s: TestSystem, path: string) => {
  const res = await s.request("GET", path);
  return [res.status, res.headers.get("location")];
};

describe("query forwarding", () => {
  test("on by default: the short URL's parameters join the target's, which win on a clash, before its fragment; the QR marker stays behind", async () => {
    const target = `${uniqueUrl("fwd")}?id=7#top`;
    const code = await create({ url: target });
    expect(await locationOf(sys, `/${code}?utm_source=mail&id=9&qr=1`)).toEqual([302, target.replace("#top", "&utm_source=mail#top")]);
    expect(await locationOf(sys, `/${code}`)).toEqual([302, target]);
    const details = await sys.request("GET", `/api/links/${code}`, undefined, { headers: { authorization: `Bearer ${key.text}` } });
    expect(((await details.json()) as { forward_query: boolean }).forward_query).toBe(true);
  });

  test("forward_query false keeps the target as it is; switched on again by PATCH, at once", async () => {
    const target = uniqueUrl("no-fwd");
    const code = await create({ url: target, forward_query: false });
    expect(await locationOf(sys, `/${code}?utm_source=mail`)).toEqual([302, target]);
    const patched = await sys.request("PATCH", `/api/links/${code}`, { forward_query: true }, { headers: { authorization: `Bearer ${key.text}` } });
    expect(patched.status).toBe(200);
    expect(await locationOf(sys, `/${code}?utm_source=mail`)).toEqual([302, `${target}?utm_source=mail`]);
  });

  test("forward_query must be a boolean", async () => {
    const res = await sys.request("POST", "/create", { url: uniqueUrl("fwd-bad"), forward_query: "yes" }, { headers: { authorization: `Bearer ${key.text}` } });
    expect([res.status, ((await res.json()) as { error: { message: string } }).error.message]).toEqual([400, "forward_query must be true or false"]);
  });
});

describe("NOT_FOUND_REDIRECT_URL and the anonymous daily cap", () => {
  let shipped: TestSystem;
  beforeAll(async () => {
    shipped = await startSystem({ INSTANCE_ID: "25", NOT_FOUND_REDIRECT_URL: "https://home.example/missing", ANONYMOUS_CREATE_PER_DAY: "3", RATE_LIMIT_NOT_FOUND_COST: "10", RATE_LIMIT_REDIRECT_PER_MIN: "100" });
  });
  afterAll(() => shipped.close());

  test("an unknown code redirects there, and still costs the 404's share of the redirect budget", async () => {
    const [status, location] = await locationOf(shipped, "/nosuchcode1");
    expect([status, location]).toEqual([302, "https://home.example/missing"]);
    const res = await shipped.request("GET", "/nosuchcode2");
    expect(Number(res.headers.get("ratelimit-remaining") ?? res.headers.get("x-ratelimit-remaining"))).toBeLessThanOrEqual(100 - 20);
    const code = await (async () => {
      const made = await shipped.request("POST", "/create", { url: uniqueUrl("nf-known") }, { headers: { authorization: `Bearer ${key.text}` } });
      return ((await made.json()) as { short_code: string }).short_code;
    })();
    expect((await locationOf(shipped, `/${code}`))[0]).toBe(302);
    expect((await locationOf(shipped, `/${code}`))[1]).not.toBe("https://home.example/missing");
  });

  test("an anonymous client stops at the daily cap with a 429 saying why; a key does not count against it", async () => {
    const peer = `10.9.${Math.floor(Math.random() * 200)}.${Math.floor(Math.random() * 200)}`;
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await shipped.request("POST", "/create", { url: uniqueUrl(`anon-day-${i}`) }, { peer })).status);
    expect(statuses).toEqual([201, 201, 201, 429]);
    const refused = await shipped.request("POST", "/create", { url: uniqueUrl("anon-day-5") }, { peer });
    const body = (await refused.json()) as { error: { code: string; message: string } };
    expect([refused.status, body.error.code]).toEqual([429, "rate-limited"]);
    expect(body.error.message).toContain("ANONYMOUS_CREATE_PER_DAY");
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    const keyed = await shipped.request("POST", "/create", { url: uniqueUrl("anon-day-keyed") }, { peer, headers: { authorization: `Bearer ${key.text}` } });
    expect(keyed.status).toBe(201);
    const other = await shipped.request("POST", "/create", { url: uniqueUrl("anon-day-other") }, { peer: `${peer}1` });
    expect(other.status).toBe(201);
  });
});

describe("passwords", () => {
  const keyed = () => ({ authorization: `Bearer ${key.text}` });
  let code = "";
  let target = "";
  beforeAll(async () => {
    target = uniqueUrl("secret");
    code = await create({ url: target, password: "open sesame" });
  });

  test("the link says it is protected; the password is in no answer, export or Redis entry in clear", async () => {
    const details = (await (await sys.request("GET", `/api/links/${code}`, undefined, { headers: keyed() })).json()) as Record<string, unknown>;
    expect(details.password_protected).toBe(true);
    expect(JSON.stringify(details)).not.toContain("sesame");
    const exported = await (await sys.request("GET", "/api/links/export", undefined, { headers: keyed() })).text();
    expect(exported).not.toContain("sesame");
    expect(exported).not.toContain("$argon2");
    const cached = await sys.composed.shards.at(sys.composed.router.current.read.shardFor(code)).redis.client.get(`l:${code}`);
    expect(cached ?? "").not.toContain("sesame");
  });

  test("a browser gets a form (200, no-store, noindex), an API client 401 password-required; neither is redirected", async () => {
    const page = await sys.request("GET", `/${code}?utm=1`, undefined, { headers: { accept: "text/html,application/xhtml+xml" } });
    expect([page.status, page.headers.get("location"), page.headers.get("cache-control"), page.headers.get("x-robots-tag")]).toEqual([200, null, "no-store", "noindex"]);
    const html = await page.text();
    expect(html).toContain('<form method="post" action="/');
    expect(html).toContain('name="password"');
    const api = await sys.request("GET", `/${code}`);
    expect([api.status, ((await api.json()) as { error: { code: string } }).error.code]).toEqual([401, "password-required"]);
  });

  test("the right password (form or JSON) redirects, with the query forwarded; a wrong one does not", async () => {
    const form = (password: string) => sys.request("POST", `/${code}?utm=1`, undefined, { headers: { "content-type": "application/x-www-form-urlencoded", accept: "text/html" }, raw: new URLSearchParams({ password }).toString(), peer: "10.77.0.1" });
    const wrong = await form("nope");
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain("not right");
    const right = await form("open sesame");
    expect([right.status, right.headers.get("location")]).toEqual([302, `${target}?utm=1`]);
    const json = await sys.request("POST", `/${code}`, { password: "open sesame" }, { peer: "10.77.0.2" });
    expect([json.status, json.headers.get("location")]).toEqual([302, target]);
    const badJson = await sys.request("POST", `/${code}`, { password: "x" }, { peer: "10.77.0.2" });
    expect([badJson.status, ((await badJson.json()) as { error: { code: string } }).error.code]).toEqual([401, "password-required"]);
  });

  test("attempts are limited per client on the link: the 6th in a minute is 429, another client still gets in", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await sys.request("POST", `/${code}`, { password: `guess-${i}` }, { peer: "10.77.1.1" })).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    expect((await sys.request("POST", `/${code}`, { password: "open sesame" }, { peer: "10.77.1.2" })).status).toBe(302);
  });

  test.each([
    [{ password: "" }, "password must not be empty"],
    [{ password: "x".repeat(129) }, "password must be at most 128 characters"],
    [{ password: 5 }, "password must be a string"],
  ])("%j is a 400 naming it", async (extra, message) => {
    const res = await sys.request("POST", "/create", { url: uniqueUrl("pw-bad"), ...extra }, { headers: keyed() });
    expect([res.status, ((await res.json()) as { error: { message: string } }).error.message]).toEqual([400, message]);
  });

  test("only a redirect is a click: the form and wrong passwords count none, the right one counts one, with its details", async () => {
    const secret = await create({ url: uniqueUrl("secret-count"), password: "open sesame" });
    const browser = { "user-agent": "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", accept: "text/html" };
    expect((await sys.request("GET", `/${secret}`, undefined, { headers: browser })).status).toBe(200);
    const form = (password: string) => sys.request("POST", `/${secret}`, undefined, { headers: { ...browser, "content-type": "application/x-www-form-urlencoded" }, raw: new URLSearchParams({ password }).toString(), peer: "10.77.2.1" });
    expect((await form("wrong")).status).toBe(401);
    expect((await form("open sesame")).status).toBe(302);
    await sys.composed.clickFlusher.flush();
    const stats = (await (await sys.request("GET", `/api/links/${secret}/stats`, undefined, { headers: keyed() })).json()) as { total: number; humans: number; bots: number };
    expect([stats.total, stats.humans, stats.bots]).toEqual([1, 1, 0]);
  });

  test("a password needs an API key; a POST without a usable password is a clear 4xx", async () => {
    const anon = await sys.request("POST", "/create", { url: uniqueUrl("pw-anon"), password: "x" });
    expect(anon.status).toBe(401);
    expect((await sys.request("POST", `/${code}`, undefined, { headers: { "content-type": "text/plain" }, raw: "password=x" })).status).toBe(415);
    expect((await sys.request("POST", `/${code}`, { nothing: 1 })).status).toBe(400);
  });

  test("PATCH password null removes it: the link redirects at once", async () => {
    const patched = await sys.request("PATCH", `/api/links/${code}`, { password: null }, { headers: keyed() });
    expect(((await patched.json()) as { password_protected: boolean }).password_protected).toBe(false);
    expect(await locationOf(sys, `/${code}`)).toEqual([302, target]);
  });
});

describe("an admin disables a link", () => {
  const ADMIN = "redirect-options-admin-token-0123";
  let guarded: TestSystem;
  let other: TestSystem;
  beforeAll(async () => {
    guarded = await startSystem({ RATE_LIMIT_ENABLED: "false", INSTANCE_ID: "26", ADMIN_TOKEN: ADMIN });
    other = await startSystem({ RATE_LIMIT_ENABLED: "false", INSTANCE_ID: "27", ADMIN_TOKEN: ADMIN });
  });
  afterAll(async () => {
    await guarded.close();
    await other.close();
  });

  test("410 on every instance at once (a page for a browser), the reason in the owner's view; enabled again, it redirects", async () => {
    const target = uniqueUrl("abuse");
    const code = await create({ url: target });
    // Both instances hold it in their hot caches before the change.
    for (const s of [guarded, other]) expect((await locationOf(s, `/${code}`))[0]).toBe(302);
    const off = await guarded.request("PATCH", `/api/admin/links/${code}`, { disabled: true, reason: "phishing reported and confirmed" }, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(off.status).toBe(200);
    for (const s of [guarded, other]) {
      const res = await s.request("GET", `/${code}`);
      expect([res.status, ((await res.json()) as { error: { code: string } }).error.code]).toEqual([410, "link-disabled"]);
    }
    const page = await other.request("GET", `/${code}`, undefined, { headers: { accept: "text/html" } });
    expect([page.status, page.headers.get("content-type")]).toEqual([410, "text/html; charset=utf-8"]);
    expect(await page.text()).toContain("phishing reported and confirmed");
    const details = (await (await sys.request("GET", `/api/links/${code}`, undefined, { headers: { authorization: `Bearer ${key.text}` } })).json()) as { disabled: { reason: string } | null };
    expect(details.disabled?.reason).toBe("phishing reported and confirmed");
    const on = await guarded.request("PATCH", `/api/admin/links/${code}`, { disabled: false }, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(on.status).toBe(200);
    for (const s of [guarded, other]) expect(await locationOf(s, `/${code}`)).toEqual([302, target]);
  });

  test("only an admin; a reason is required; an unknown code is 404", async () => {
    const code = await create({ url: uniqueUrl("abuse-authz") });
    expect((await guarded.request("PATCH", `/api/admin/links/${code}`, { disabled: true, reason: "x" })).status).toBe(401);
    expect((await guarded.request("PATCH", `/api/admin/links/${code}`, { disabled: true, reason: "x" }, { headers: { authorization: `Bearer ${key.text}` } })).status).toBe(403);
    const noReason = await guarded.request("PATCH", `/api/admin/links/${code}`, { disabled: true }, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(noReason.status).toBe(400);
    expect((await guarded.request("PATCH", "/api/admin/links/nosuchcode8", { disabled: false }, { headers: { authorization: `Bearer ${ADMIN}` } })).status).toBe(404);
  });
});

describe("abuse reports", () => {
  test("anyone may report: 202 for a known and an unknown code alike; an operator lists them newest first with the total", async () => {
    const code = await create({ url: uniqueUrl("reported") });
    const peer = `10.55.${Math.floor(Math.random() * 250)}.9`;
    const known = await sys.request("POST", "/api/report", { code, reason: "looks like phishing" }, { peer });
    const unknown = await sys.request("POST", "/api/report", { code: "nosuchcode9", reason: "spam" }, { peer });
    expect([known.status, unknown.status]).toEqual([202, 202]);
    expect(await known.json()).toEqual(await unknown.json());
  });

  test("at most 10 an hour from one address; bad input is a 400 naming it", async () => {
    const peer = `10.56.${Math.floor(Math.random() * 250)}.7`;
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) statuses.push((await sys.request("POST", "/api/report", { code: "abcdef", reason: `r${i}` }, { peer })).status);
    expect(statuses.slice(0, 10).every((s) => s === 202)).toBe(true);
    expect(statuses[10]).toBe(429);
    for (const [body, message] of [
      [{ code: "abcdef" }, "reason must be a string"],
      [{ code: "abcdef", reason: " " }, "reason must not be empty"],
      [{ code: "no/such", reason: "x" }, "code is not a short code"],
    ] as const) {
      const res = await sys.request("POST", "/api/report", body, { peer: `${peer}0` });
      expect([res.status, ((await res.json()) as { error: { message: string } }).error.message]).toEqual([400, message]);
    }
  });
});

describe("abuse reports, as an operator sees them", () => {
  const ADMIN = "reports-admin-token-0123456789";
  let ops: TestSystem;
  beforeAll(async () => {
    ops = await startSystem({ RATE_LIMIT_ENABLED: "false", INSTANCE_ID: "28", ADMIN_TOKEN: ADMIN, OBSERVABILITY_PUBLIC: "false" });
  });
  afterAll(() => ops.close());

  test("only for operators: no credential 401, an ordinary key 403", async () => {
    expect((await ops.request("GET", "/api/admin/reports")).status).toBe(401);
    expect((await ops.request("GET", "/api/admin/reports", undefined, { headers: { authorization: `Bearer ${key.text}` } })).status).toBe(403);
  });

  test("newest first, with the total", async () => {
    const reason = `report ${crypto.randomUUID()}`;
    expect((await ops.request("POST", "/api/report", { code: "abcdefg", reason }, { peer: "10.57.0.1" })).status).toBe(202);
    const listed = (await (await ops.request("GET", "/api/admin/reports?limit=3", undefined, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as { total: number; reports: Array<{ code: string; reason: string }> };
    expect(listed.reports[0]).toMatchObject({ code: "abcdefg", reason });
    expect(listed.total).toBeGreaterThanOrEqual(1);
  });
});
