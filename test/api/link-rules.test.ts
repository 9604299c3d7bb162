/**
 * Redirect rules against the real cluster: the first rule whose conditions hold picks the target
 * (device and OS from the user agent, country from the client address behind a trusted proxy,
 * language, query, time), the same from memory, from Redis and from PostgreSQL; PATCH replaces
 * or removes them at once; every bad input is a 400 naming the rule and the problem; the read
 * event says which rule matched.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { makeKey } from "../support/keys";
import { startSystem, uniqueUrl, type TestSystem } from "../../harness/system";
import { startServer, type ServerProcess } from "../../harness/server-process";
import { connect } from "../events/ws-client";

const IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
const ANDROID = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36";
const WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const DAY = 86_400_000;

let sys: TestSystem;
let key: { id: string; text: string };
beforeAll(async () => {
  sys = await startSystem({ RATE_LIMIT_ENABLED: "false", INSTANCE_ID: "26", TRUSTED_PROXIES: "127.0.0.1" });
  key = await makeKey(sys.config, "rules");
});
afterAll(() => sys.close());

const auth = () => ({ authorization: `Bearer ${key.text}` });
const messageOf = async (res: Response) => [res.status, ((await res.json()) as { error: { message: string } }).error.message];
async function create(body: Record<string, unknown>): Promise<string> {
  const res = await sys.request("POST", "/create", body, { headers: auth() });
  expect(res.status).toBe(201);
  return ((await res.json()) as { short_code: string }).short_code;
}
const target = async (path: string, headers: Record<string, string> = {}) => {
  const res = await sys.request("GET", path, undefined, { headers: { "user-agent": WINDOWS, "x-forwarded-for": "8.8.8.8", ...headers } });
  expect(res.status).toBe(302);
  return res.headers.get("location");
};

describe("redirect rules", () => {
  const t = (tag: string) => `https://${tag}.example/`;
  const rules = [
    { when: { os: "ios" }, url: t("ios") },
    { when: { device: ["mobile", "tablet"] }, url: t("mobile") },
    { when: { country: ["jp", "KR"] }, url: t("asia") },
    { when: { language: "de" }, url: t("german") },
    { when: { query: { campaign: "spring" } }, url: t("spring") },
    { when: { after: new Date(Date.now() + DAY).toISOString() }, url: t("future") },
    { when: { before: new Date(Date.now() - DAY).toISOString() }, url: t("past") },
    { when: { after: new Date(Date.now() - DAY).toISOString(), before: new Date(Date.now() + DAY).toISOString(), country: "GB" }, url: t("uk-now") },
  ];
  let code: string;
  let home: string;
  beforeAll(async () => {
    home = uniqueUrl("rules");
    code = await create({ url: home, rules });
  });

  const cases: Array<[string, Record<string, string>, string | null]> = [
    ["an iPhone: the first rule, before the mobile one", { "user-agent": IPHONE }, t("ios")],
    ["an Android phone", { "user-agent": ANDROID }, t("mobile")],
    ["a desktop in Japan (forwarded address through the trusted proxy)", { "x-forwarded-for": "133.242.0.1" }, t("asia")],
    ["a German speaker in the US", { "accept-language": "de-DE,de;q=0.9,en;q=0.5" }, t("german")],
    ["an English speaker in the US", { "accept-language": "en-US,de;q=0.9" }, null],
    ["a desktop in the UK, within the window", { "x-forwarded-for": "81.2.69.142" }, t("uk-now")],
    ["no rule holds", {}, null],
  ];
  for (const [name, headers, expected] of cases) {
    test(`${name}: ${expected ?? "the link's own URL"}`, async () => {
      expect(await target(`/${code}`, headers)).toBe(expected ?? home);
    });
  }

  test("a query rule matches the short URL's parameter, and the query is forwarded to the rule's URL too", async () => {
    expect(await target(`/${code}?campaign=spring`)).toBe(`${t("spring")}?campaign=spring`);
    expect(await target(`/${code}?campaign=autumn`)).toBe(`${home}?campaign=autumn`);
  });

  test("the same choice from Redis and from PostgreSQL as from memory", async () => {
    sys.composed.hot.clear();
    expect(await target(`/${code}`, { "user-agent": IPHONE })).toBe(t("ios"));
    sys.composed.hot.clear();
    const shard = sys.composed.router.current.read.shardFor(code);
    await sys.composed.shards.at(shard).redis.client.del(`l:${code}`);
    expect(await target(`/${code}`, { "x-forwarded-for": "133.242.0.1" })).toBe(t("asia"));
  });

  test("details show the rules as stored (lists, codes upper-case, URLs normalised); PATCH replaces them, null removes them, at once", async () => {
    const details = await sys.request("GET", `/api/links/${code}`, undefined, { headers: auth() });
    const shown = ((await details.json()) as { rules: Array<{ when: Record<string, unknown>; url: string }> }).rules;
    expect(shown).toHaveLength(rules.length);
    expect(shown[1]).toEqual({ when: { device: ["mobile", "tablet"] }, url: t("mobile") });
    expect(shown[2]!.when.country).toEqual(["JP", "KR"]);
    expect(shown[0]!.when.os).toEqual(["ios"]);

    const patched = await sys.request("PATCH", `/api/links/${code}`, { rules: [{ when: { device: "desktop" }, url: "HTTPS://Desk.Example" }] }, { headers: auth() });
    expect(patched.status).toBe(200);
    expect(((await patched.json()) as { rules: unknown }).rules).toEqual([{ when: { device: ["desktop"] }, url: "https://desk.example/" }]);
    expect(await target(`/${code}`)).toBe("https://desk.example/");
    expect(await target(`/${code}`, { "user-agent": IPHONE })).toBe(home);

    expect((await sys.request("PATCH", `/api/links/${code}`, { rules: null }, { headers: auth() })).status).toBe(200);
    expect(await target(`/${code}`)).toBe(home);
    const after = await sys.request("GET", `/api/links/${code}`, undefined, { headers: auth() });
    expect(((await after.json()) as { rules: unknown }).rules).toEqual([]);
  });

  test("export carries the rules and an import of the exported line restores them", async () => {
    const c = await create({ url: uniqueUrl("rules-export"), rules: [{ when: { language: ["fr"] }, url: t("fr") }] });
    const exported = await sys.request("GET", "/api/links/export", undefined, { headers: auth() });
    const line = (await exported.text()).split("\n").find((l) => l.includes(`"short_code":"${c}"`))!;
    expect(JSON.parse(line).rules).toEqual([{ when: { language: ["fr"] }, url: t("fr") }]);
    const imported = await sys.request("POST", "/api/links/import", undefined, { headers: { ...auth(), "content-type": "application/x-ndjson" }, raw: `${JSON.stringify({ ...JSON.parse(line), short_code: undefined, alias: false })}\n` });
    expect(imported.status).toBe(200);
    expect(((await imported.json()) as { created: number }).created).toBe(1);
  });
});

describe("bad rules are a 400 naming the rule and the problem; nothing is created", () => {
  const bad: Array<[unknown, string]> = [
    ["mobile", "rules must be an array"],
    [[5], "each rule must be an object {when, url}"],
    [[{ when: { device: "phone" }, url: "https://a.example" }], "rules[0].when.device: device must be one of desktop, mobile, tablet, or a list of them"],
    [[{ when: { os: ["ios", "symbian"] }, url: "https://a.example" }], "rules[0].when.os: os must be one of ios, android, windows, macos, linux, or a list of them"],
    [[{ when: { country: ["Germany"] }, url: "https://a.example" }], "rules[0].when.country[0]: country must be ISO 3166-1 alpha-2 codes, e.g. DE"],
    [[{ when: { language: "en-US" }, url: "https://a.example" }], "rules[0].when.language: language must be a primary language tag such as en, or a list of them"],
    [[{ when: { query: {} }, url: "https://a.example" }], "rules[0].when.query: query must name 1-10 parameters"],
    [[{ when: { after: "tomorrow" }, url: "https://a.example" }], "rules[0].when.after: after must be an ISO 8601 date-time, e.g. 2027-01-31T12:00:00Z"],
    [[{ when: { after: "2027-02-01T00:00:00Z", before: "2027-01-01T00:00:00Z" }, url: "https://a.example" }], "rules[0].when: after must be before before"],
    [[{ when: {}, url: "https://a.example" }], "rules[0].when: when must hold at least one condition"],
    [[{ when: { query: { a: "\u0000" } }, url: "https://a.example" }], "rules[0].when.query.a: a query value must not contain control characters"],
    [[{ when: { query: { "\ud800": "x" } }, url: "https://a.example" }], "rules[0].when.query.\ud800: a query parameter name must be 1-100 characters with no control characters"],
    [[{ when: { devices: "mobile" }, url: "https://a.example" }], "rules[0].when: unknown condition devices; use device, os, country, language, query, after, before"],
    [[{ when: { device: "mobile" } }], "rules[0].url: each rule needs a url string"],
    [Array.from({ length: 21 }, () => ({ when: { device: "mobile" }, url: "https://a.example" })), "at most 20 rules"],
  ];
  for (const [rules, message] of bad) {
    test(message, async () => {
      expect(await messageOf(await sys.request("POST", "/create", { url: uniqueUrl("bad-rules"), rules }, { headers: auth() }))).toEqual([400, message]);
    });
  }

  test("a rule's URL passes the same checks as the link's", async () => {
    const res = await sys.request("POST", "/create", { url: uniqueUrl("bad-rule-url"), rules: [{ when: { device: "mobile" }, url: "https://a.example" }, { when: { os: "ios" }, url: "javascript:alert(1)" }] }, { headers: auth() });
    expect(await messageOf(res)).toEqual([400, "rules[1].url: url scheme javascript is not allowed; use http or https"]);
  });

  test("rules need an API key", async () => {
    expect(await messageOf(await sys.request("POST", "/create", { url: uniqueUrl("anon-rules"), rules: [{ when: { device: "mobile" }, url: "https://a.example" }] }))).toEqual([401, "redirect rules need an API key"]);
  });
});

describe("the read event names the rule", () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServer({ RATE_LIMIT_ENABLED: "false", INSTANCE_ID: "27", EVENT_FLUSH_MS: "20", OBSERVABILITY_PUBLIC: "true" });
  });
  afterAll(() => server.stop());

  test("rule: the index that chose the target, null for the link's own URL", async () => {
    const created = await fetch(`${server.url}/create`, { method: "POST", headers: { "content-type": "application/json", ...auth() }, body: JSON.stringify({ url: uniqueUrl("rule-event"), rules: [{ when: { os: "android" }, url: "https://a.example/" }, { when: { os: "ios" }, url: "https://i.example/" }] }) });
    const code = ((await created.json()) as { short_code: string }).short_code;
    const client = await connect(`ws://127.0.0.1:${server.port}/ws?topics=events`);
    try {
      for (const agent of [IPHONE, WINDOWS]) await fetch(`${server.url}/${code}`, { redirect: "manual", headers: { "user-agent": agent } });
      const deadline = Date.now() + 5000;
      let reads: Array<Record<string, unknown>> = [];
      while (Date.now() < deadline && reads.length < 2) {
        await Bun.sleep(50);
        reads = client.events().filter((e) => e.type === "read" && e.short_code === code);
      }
      expect(reads.map((e) => e.rule)).toEqual([1, null]);
    } finally {
      client.close();
    }
  });
});
