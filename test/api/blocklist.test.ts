/**
 * The blocklist against the real cluster: a blocked host (and every host under it) is refused in
 * every spelling a create, a rule, an edit or a bulk item may use (400 blocked-url); an existing
 * link to it answers 451 (JSON, or a page for a browser) until it is unblocked; a link whose rule
 * leads there answers 451 only when that rule is chosen. Across instances: test/deploy/blocklist-race.test.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { makeKey } from "../support/keys";
import { startSystem, uniqueUrl, type TestSystem } from "../../harness/system";

const run = crypto.randomUUID().slice(0, 8);
const EVIL = `evil-${run}.example`;
const IDN = `bücher-${run}.example`;
let sys: TestSystem;
let key: { text: string };
let admin: { text: string };
beforeAll(async () => {
  sys = await startSystem({ RATE_LIMIT_ENABLED: "false", INSTANCE_ID: "28" });
  key = await makeKey(sys.config, "blocklist");
  admin = await makeKey(sys.config, "blocklist-admin", "admin");
});
afterAll(async () => {
  for (const host of [EVIL, IDN]) await sys.request("DELETE", `/api/admin/blocklist?host=${encodeURIComponent(host)}`, undefined, { headers: { authorization: `Bearer ${admin.text}` } });
  await sys.close();
});

const as = (who: { text: string }) => ({ headers: { authorization: `Bearer ${who.text}` } });
const errorOf = async (res: Response) => [res.status, ((await res.json()) as { error: { code: string } }).error.code];
const createAt = (url: string, extra: Record<string, unknown> = {}) => sys.request("POST", "/create", { url, ...extra }, as(key));

describe("blocking a host", () => {
  let before: string;
  let ruled: string;
  let beside: string;
  let locked: string;
  beforeAll(async () => {
    locked = ((await (await createAt(`https://pay.${EVIL}/`, { password: "open sesame" })).json()) as { short_code: string }).short_code;
    before = ((await (await createAt(`https://www.${EVIL}/login`)).json()) as { short_code: string }).short_code;
    ruled = ((await (await createAt(uniqueUrl("ruled"), { rules: [{ when: { os: "ios" }, url: `https://${EVIL}/app` }] })).json()) as { short_code: string }).short_code;
    beside = ((await (await createAt(`https://not${EVIL}/`)).json()) as { short_code: string }).short_code;
    expect((await sys.request("GET", `/${before}`)).status).toBe(302);
    const blocked = await sys.request("POST", "/api/admin/blocklist", { host: `*.${EVIL.toUpperCase()}.`, note: "phishing" }, as(admin));
    expect([blocked.status, await blocked.json()]).toEqual([201, { host: EVIL, created: true }]);
  });

  test("the list shows the entry, normalised, with its note; a second POST of another spelling is 200", async () => {
    const again = await sys.request("POST", "/api/admin/blocklist", { host: `https://user@${EVIL}:8443/x` }, as(admin));
    expect([again.status, await again.json()]).toEqual([200, { host: EVIL, created: false }]);
    const list = (await (await sys.request("GET", "/api/admin/blocklist", undefined, as(admin))).json()) as { entries: Array<{ host: string; source: string; note: string | null }> };
    expect(list.entries.find((e) => e.host === EVIL)).toMatchObject({ source: "api", note: "phishing" });
  });

  test("creates to it or under it are 400 blocked-url in every spelling", async () => {
    for (const url of [`https://${EVIL}/`, `HTTPS://${EVIL.toUpperCase()}/x`, `https://${EVIL}./x`, `http://${EVIL}:8080/`, `https://a.b.${EVIL}/?q=1`, `https://${EVIL}#frag`]) {
      expect([url, ...(await errorOf(await createAt(url)))]).toEqual([url, 400, "blocked-url"]);
    }
    expect((await createAt(`https://not${EVIL}/other`)).status).toBe(201);
  });

  test("an IDN entry blocks the punycode and the Unicode spelling alike", async () => {
    expect((await sys.request("POST", "/api/admin/blocklist", { host: IDN }, as(admin))).status).toBe(201);
    const ascii = new URL(`https://${IDN}/`).hostname;
    for (const url of [`https://${IDN}/`, `https://${ascii}/`, `https://WWW.${ascii.toUpperCase()}/`]) expect(await errorOf(await createAt(url))).toEqual([400, "blocked-url"]);
  });

  test("a rule, an edit and a bulk item leading there are refused too, naming the field", async () => {
    const rule = await createAt(uniqueUrl("rule-to-evil"), { rules: [{ when: { device: "mobile" }, url: `https://${EVIL}/m` }] });
    expect(((await rule.json()) as { error: { code: string; message: string } }).error).toEqual({ code: "blocked-url", message: `rules[0].url leads to ${EVIL}, which this service blocks` });
    expect(await errorOf(await sys.request("PATCH", `/api/links/${beside}`, { url: `https://${EVIL}/` }, as(key)))).toEqual([400, "blocked-url"]);
    const bulk = (await (await sys.request("POST", "/api/links/bulk", { links: [{ url: `https://${EVIL}/b` }, { url: uniqueUrl("bulk-ok") }] }, as(key))).json()) as { created: number; results: Array<{ error?: { code: string } }> };
    expect([bulk.created, bulk.results[0]!.error?.code]).toEqual([1, "blocked-url"]);
  });

  test("an existing link to it answers 451: JSON for a program, a page for a browser; its neighbour still redirects", async () => {
    expect(await errorOf(await sys.request("GET", `/${before}`))).toEqual([451, "link-blocked"]);
    const page = await sys.request("GET", `/${before}`, undefined, { headers: { accept: "text/html" } });
    expect([page.status, page.headers.get("content-type"), page.headers.get("cache-control")]).toEqual([451, "text/html; charset=utf-8", "no-store"]);
    expect(await page.text()).toContain("This link leads to a blocked site");
    expect((await sys.request("GET", `/${beside}`)).status).toBe(302);
  });

  test("a protected link to it: the password form's POST gets the same 451 page, the right password no redirect", async () => {
    const form = await sys.request("POST", `/${locked}`, undefined, { raw: "password=open+sesame", headers: { "content-type": "application/x-www-form-urlencoded", accept: "text/html" } });
    expect([form.status, form.headers.get("content-type")]).toEqual([451, "text/html; charset=utf-8"]);
    expect(await errorOf(await sys.request("POST", `/${locked}`, { password: "open sesame" }))).toEqual([451, "link-blocked"]);
  });

  test("a rule leading there answers 451 only when it is chosen", async () => {
    const iphone = { headers: { "user-agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1" } };
    expect((await sys.request("GET", `/${ruled}`, undefined, iphone)).status).toBe(451);
    expect((await sys.request("GET", `/${ruled}`)).status).toBe(302);
  });

  test("unblocked, the link redirects again at once; a second DELETE is 404", async () => {
    expect((await sys.request("DELETE", `/api/admin/blocklist?host=${encodeURIComponent(`WWW.${EVIL}`)}`, undefined, as(admin))).status).toBe(404);
    expect((await sys.request("DELETE", `/api/admin/blocklist?host=${EVIL}.`, undefined, as(admin))).status).toBe(204);
    expect((await sys.request("GET", `/${before}`)).status).toBe(302);
    expect(await errorOf(await sys.request("DELETE", `/api/admin/blocklist?host=${EVIL}`, undefined, as(admin)))).toEqual([404, "not-blocked"]);
  });
});

describe("the admin API's bad input and access", () => {
  const bad: Array<[unknown, string]> = [
    [{ host: "com" }, "host: give a domain with at least two labels (or an IP address)"],
    [{ host: "" }, "host: entry is empty"],
    [{ host: "evil .example" }, "host: entry contains whitespace or control characters"],
    [{ host: "ev*l.example" }, "host: a wildcard is only allowed as a leading *."],
    [{ host: 7 }, "host must be a string"],
    [{ host: "a.example", note: 5 }, "note must be a string"],
  ];
  for (const [body, message] of bad) {
    test(message, async () => {
      const res = await sys.request("POST", "/api/admin/blocklist", body, as(admin));
      expect([res.status, ((await res.json()) as { error: { message: string } }).error.message]).toEqual([400, message]);
    });
  }

  test("a key that is not an admin's gets 403, no key 401, for every method", async () => {
    for (const [method, path, body] of [["GET", "/api/admin/blocklist", undefined], ["POST", "/api/admin/blocklist", { host: "x.example" }], ["DELETE", "/api/admin/blocklist?host=x.example", undefined]] as const) {
      expect((await sys.request(method, path, body, as(key))).status).toBe(403);
      expect((await sys.request(method, path, body)).status).toBe(401);
    }
  });
});
