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
  sys = await startSystem({ RATE_LIMIT_ENABLED: "false", INSTANCE_ID: "24" });
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
