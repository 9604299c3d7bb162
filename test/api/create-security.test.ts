import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { makeKey } from "../support/keys";
import { clusterConfig, startSystem, uniqueUrl, type TestSystem } from "../../harness/system";

/** Abuse inputs for the write endpoint: each gets a clear 4xx and leaves stored links intact. */
let sys: TestSystem;
let existing: { code: string; url: string };
let key: { text: string };

beforeAll(async () => {
  key = await makeKey(clusterConfig(), "create-security");
  sys = await startSystem({ RATE_LIMIT_ENABLED: "false", MAX_BODY_BYTES: "4096", MAX_URL_LENGTH: "2048", PUBLIC_BASE_URL: "https://sho.rt" });
  const url = uniqueUrl("keep");
  const res = await sys.request("POST", "/create", { url });
  existing = { code: ((await res.json()) as { short_code: string }).short_code, url };
});
afterAll(() => sys.close());

async function expectError(res: Response, status: number, code: string, messagePart?: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toContain("application/json");
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe(code);
  if (messagePart) expect(body.error.message).toContain(messagePart);
}

describe("bad bodies", () => {
  test("malformed JSON", async () => {
    await expectError(await sys.request("POST", "/create", undefined, { raw: "{not json", headers: { "content-type": "application/json" } }), 400, "invalid-json", "not valid JSON");
  });
  test("empty body", async () => {
    await expectError(await sys.request("POST", "/create", undefined, { raw: "", headers: { "content-type": "application/json" } }), 400, "invalid-json", "empty");
  });
  test("wrong content type", async () => {
    await expectError(await sys.request("POST", "/create", undefined, { raw: "url=https://a.b", headers: { "content-type": "application/x-www-form-urlencoded" } }), 415, "unsupported-media-type");
  });
  test("missing content type", async () => {
    await expectError(await sys.request("POST", "/create", undefined, { raw: '{"url":"https://a.b"}' }), 415, "unsupported-media-type");
  });
  test("oversized body", async () => {
    await expectError(await sys.request("POST", "/create", { url: `https://example.com/${"a".repeat(5000)}` }), 413, "payload-too-large");
  });
  test.each([
    [[], "body must be a JSON object"],
    ["https://example.com", "body must be a JSON object"],
    [null, "body must be a JSON object"],
    [{}, "body needs a url (or long_url) field"],
    [{ url: 42 }, "url must be a string"],
    [{ url: ["https://a.b"] }, "url must be a string"],
    [{ long_url: { href: "https://a.b" } }, "long_url must be a string"],
    [{ url: "https://a.example/1", long_url: "https://a.example/2" }, "url and long_url differ"],
  ])("wrong shape %p", async (body, message) => {
    await expectError(await sys.request("POST", "/create", body), 400, "invalid-body", message);
  });
  test("oversized chunked body (no Content-Length) is cut off while streaming", async () => {
    const chunk = new TextEncoder().encode(`{"url":"https://example.com/${"a".repeat(1000)}`);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 6; i++) controller.enqueue(chunk);
        controller.close();
      },
    });
    await expectError(await sys.request("POST", "/create", undefined, { raw: stream, headers: { "content-type": "application/json" } }), 413, "payload-too-large");
  });
  test("invalid UTF-8", async () => {
    await expectError(await sys.request("POST", "/create", undefined, { raw: new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), headers: { "content-type": "application/json" } }), 400, "invalid-json", "UTF-8");
  });
});

describe("hostile URLs", () => {
  test.each([
    ["javascript:alert(document.cookie)", "scheme javascript"],
    ["java\tscript:alert(1)", "control characters"],
    ["jav&#x09;ascript:alert(1)", "not an absolute URL"],
    ["JAVASCRIPT:alert(1)", "scheme javascript"],
    ["data:text/html;base64,PHNjcmlwdD4=", "scheme data"],
    ["vbscript:msgbox", "scheme vbscript"],
    ["file:///etc/passwd", "scheme file"],
    ["https://user:pw@example.com", "credentials"],
    ["https://google.com@evil.example", "credentials"],
    ["https://sho.rt/abc", "points back at this service"],
    ["https://SHO.RT./abc", "points back at this service"],
    ["http://", "not an absolute URL"],
    ["https://exa\nmple.com", "control characters"],
    ["https://example.com/\r\nSet-Cookie:x=1", "control characters"],
    ["/relative/path", "not an absolute URL"],
  ])("%p is refused", async (url, message) => {
    await expectError(await sys.request("POST", "/create", { url }), 400, "invalid-url", message);
  });
});

describe("links back to this service, on any port and in any spelling", () => {
  // The service listens on 127.0.0.1:8080 (HOST, PORT) and is https://sho.rt to the world.
  test.each([
    "http://LOCALHOST:9999/x",
    "http://foo.localhost/x",
    "http://0.0.0.0:1/x",
    "http://[::ffff:127.0.0.1]:8081/x",
    "http://[::]:8080/x",
    "http://2130706433:3000/x",
    "https://sho.rt:8443/x",
    "http://SHO.RT./x",
  ])("%p is refused", async (url) => {
    await expectError(await sys.request("POST", "/create", { url }), 400, "invalid-url", "points back at this service");
  });

  const auth = () => ({ authorization: `Bearer ${key.text}` });

  test("a link with a visit budget cannot point at itself, nor at another of our links, nor be edited to", async () => {
    const alias = `self-${crypto.randomUUID().slice(0, 8)}`;
    for (const url of [`https://sho.rt/${alias}`, `HTTP://Sho.Rt.:80/${alias.toUpperCase()}`, `https://sho.rt/${existing.code}`]) {
      await expectError(await sys.request("POST", "/create", { url, alias, max_visits: 5 }, { headers: auth() }), 400, "invalid-url", "points back at this service");
    }
    expect((await sys.request("GET", `/${alias}`)).status).toBe(404);

    const made = await sys.request("POST", "/create", { url: uniqueUrl("budget"), alias, max_visits: 5 }, { headers: auth() });
    expect(made.status).toBe(201);
    await expectError(await sys.request("PATCH", `/api/links/${alias}`, { url: `https://sho.rt/${alias}` }, { headers: auth() }), 400, "invalid-url", "points back at this service");
    await expectError(await sys.request("PATCH", `/api/links/${alias}`, { url: `http://127.0.0.1:8081/${existing.code}` }, { headers: auth() }), 400, "invalid-url", "points back at this service");
  });
});

test("an over-long URL is refused", async () => {
  await expectError(await sys.request("POST", "/create", { url: `https://example.com/${"a".repeat(2100)}` }), 400, "invalid-url", "longer than 2048");
});

test("after every abuse input, the stored link still resolves", async () => {
  const res = await sys.request("GET", `/${existing.code}`);
  expect(res.status).toBe(302);
  expect(res.headers.get("location")).toBe(existing.url);
});
