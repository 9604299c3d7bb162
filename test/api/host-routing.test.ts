/**
 * The route a request takes depends on its path only, whatever the Host header says or whether
 * there is one: Bun.serve builds request.url from the Host header (`http://x/create` for
 * `Host: x`, the bare `/create` without a usable one), and Elysia's router once cut the path at a
 * fixed offset of that URL, so `Host: x` made `POST /create` a 404 and `/health/live` a redirect
 * lookup. The real service on a real Bun server in this process, spoken to over raw TCP.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import type { Server } from "bun";
import { rawRequest, type RawResponse } from "../support/raw-http";
import { startSystem, uniqueUrl, type TestSystem } from "../../harness/system";

let sys: TestSystem;
let server: Server<unknown>;
let code: string;

beforeAll(async () => {
  sys = await startSystem({ RATE_LIMIT_ENABLED: "false" });
  server = sys.composed.listen("127.0.0.1", 0) as Server<unknown>;
  const created = await sys.request("POST", "/create", { url: uniqueUrl("host") });
  code = ((await created.json()) as { short_code: string }).short_code;
}, 30_000);

afterAll(async () => {
  await server?.stop(true);
  await sys?.close();
});

interface Probe {
  name: string;
  method: string;
  target: () => string;
  body?: () => string;
}

const PROBES: Probe[] = [
  { name: "create", method: "POST", target: () => "/create", body: () => JSON.stringify({ url: uniqueUrl("host") }) },
  { name: "liveness", method: "GET", target: () => "/health/live" },
  { name: "redirect", method: "GET", target: () => `/${code}` },
  { name: "redirect with a query", method: "GET", target: () => `/${code}?utm=x` },
  { name: "stats", method: "GET", target: () => `/api/links/${code}/stats?days=2` },
  { name: "topology", method: "GET", target: () => "/api/topology" },
  { name: "no such route", method: "GET", target: () => "/no/such/route" },
];

function send(probe: Probe, host: string | null, version = host === null ? "HTTP/1.0" : "HTTP/1.1"): Promise<RawResponse> {
  const body = probe.body?.();
  return rawRequest(server.port!, { method: probe.method, target: probe.target(), version, host, body, headers: body === undefined ? {} : { "content-type": "application/json" } });
}

/** What identifies the route that answered: status, error code, redirect target, liveness body. */
function routeSignature(r: RawResponse): string {
  const errorCode = /"code":"([a-z-]+)"/.exec(r.body)?.[1] ?? "";
  const live = r.body.includes('"status":"ok"') ? "live" : "";
  const redirectTo = r.status >= 300 && r.status < 400 ? r.headers.get("location") : "";
  return `${r.status} ${errorCode} ${redirectTo} ${live}`;
}

const baseline = new Map<string, string>();
async function expected(probe: Probe): Promise<string> {
  if (!baseline.has(probe.name)) baseline.set(probe.name, routeSignature(await send(probe, "shorten.test")));
  return baseline.get(probe.name)!;
}

describe("routing ignores the Host header", () => {
  test.each([
    ["Host: x", "x"],
    ["Host: a", "a"],
    ["Host: a:1", "a:1"],
    ["no Host (HTTP/1.0)", null],
    ["a 3000-character Host", "h".repeat(3000)],
  ])("%s: POST /create 201, GET /health/live 200, GET /<code> 302", async (_, host) => {
    expect((await send(PROBES[0]!, host)).status).toBe(201);
    const live = await send(PROBES[1]!, host);
    expect(live.status).toBe(200);
    expect(live.body).toContain('"status":"ok"');
    const redirect = await send(PROBES[2]!, host);
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get("location")).toStartWith("https://example.com/host/");
  });

  test("property: for any Host value (or none) each route answers as it does with a normal Host", async () => {
    const visible = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 12 });
    const host = fc.oneof(
      fc.constant(null),
      visible,
      fc.domain(),
      fc.tuple(fc.ipV4(), fc.integer({ min: 1, max: 65535 })).map(([ip, port]) => `${ip}:${port}`),
      fc.integer({ min: 100, max: 4000 }).map((n) => "h".repeat(n)),
    );
    await fc.assert(
      fc.asyncProperty(host, fc.constantFrom(...PROBES), fc.boolean(), async (h, probe, http10) => {
        const got = routeSignature(await send(probe, h, h === null || http10 ? "HTTP/1.0" : "HTTP/1.1"));
        expect(got).toBe(await expected(probe));
      }),
      { numRuns: 200 },
    );
  }, 60_000);
});
