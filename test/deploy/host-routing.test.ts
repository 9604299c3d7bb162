/**
 * A short or missing Host header once misrouted requests (Elysia cut the path at a fixed offset
 * of request.url: with `Host: x`, `POST /create` was a 404 and `/health/live` a redirect lookup).
 * Raw TCP to a real server process, then through the real HAProxy with HTTP/1.0 and no Host.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startHaproxy, type HaproxyProcess } from "../../harness/haproxy";
import { rawRequest } from "../support/raw-http";
import { startServer, type ServerProcess } from "../../harness/server-process";
import { uniqueUrl } from "../../harness/system";

let server: ServerProcess;
let lb: HaproxyProcess;
let code: string;
let longUrl: string;

beforeAll(async () => {
  server = await startServer({ RATE_LIMIT_ENABLED: "false", INSTANCE_ID: "45" });
  lb = await startHaproxy([server.port]);
  longUrl = uniqueUrl("host");
  const res = await fetch(`${server.url}/create`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ url: longUrl }) });
  code = ((await res.json()) as { short_code: string }).short_code;
}, 60_000);

afterAll(async () => {
  await lb?.stop();
  await server?.stop();
});

async function expectRoutes(port: number, host: string | null, version: string) {
  const created = await rawRequest(port, { method: "POST", target: "/create", version, host, headers: { "content-type": "application/json" }, body: JSON.stringify({ url: uniqueUrl("host") }) });
  expect(created.status).toBe(201);
  expect(created.body).toContain('"short_code"');
  const live = await rawRequest(port, { target: "/health/live", version, host });
  expect(live.status).toBe(200);
  expect(live.body).toContain('"status":"ok"');
  const redirect = await rawRequest(port, { target: `/${code}`, version, host });
  expect(redirect.status).toBe(302);
  expect(redirect.headers.get("location")).toBe(longUrl);
}

describe("routing on the path whatever the Host header", () => {
  test.each([
    ["Host: x", "x", "HTTP/1.1"],
    ["Host: a", "a", "HTTP/1.1"],
    ["no Host, HTTP/1.0", null, "HTTP/1.0"],
    ["a 4000-character Host", "h".repeat(4000), "HTTP/1.1"],
  ])("straight to the server, %s: POST /create 201, GET /health/live 200, GET /<code> 302", async (_, host, version) => {
    await expectRoutes(server.port, host, version);
  });

  test("through HAProxy, HTTP/1.0 without Host: POST /create 201, GET /health/live 200, GET /<code> 302", async () => {
    await expectRoutes(lb.port, null, "HTTP/1.0");
  });
});
