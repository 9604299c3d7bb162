/**
 * The request metrics' route labels come from the routes the app registered: a request to each
 * route shows up under that route's own template, the dashboard's files under one label, and a
 * path no route takes as `unmatched`.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { startSystem, type TestSystem } from "../../harness/system";

let sys: TestSystem;
beforeAll(async () => {
  sys = await startSystem({ RATE_LIMIT_ENABLED: "false" });
});
afterAll(() => sys.close());

test("every registered route is counted under its own template", async () => {
  const routes = (sys.composed.app as unknown as { routes: Array<{ method: string; path: string }> }).routes.filter((r) => !["HEAD", "OPTIONS", "ALL"].includes(r.method) && !r.path.startsWith("/dashboard"));
  expect(routes.length).toBeGreaterThan(10);
  for (const r of routes) await sys.request(r.method, r.path.replace(/:(\w+)/g, "label0$1"), r.method === "GET" || r.method === "DELETE" ? undefined : {});
  await sys.request("GET", "/dashboard/app.js");
  await sys.request("GET", "/no/such/route");
  const text = await (await sys.request("GET", "/metrics")).text();
  const labels = new Set([...text.matchAll(/^shorten_http_requests_total\{[^}]*route="([^"]+)"/gm)].map((m) => m[1]!));
  const missing = routes.map((r) => r.path).filter((p) => !labels.has(p));
  expect(missing).toEqual([]);
  expect(labels.has("/dashboard/*")).toBe(true);
  expect(labels.has("unmatched")).toBe(true);
  expect([...labels].filter((l) => l.includes("label0"))).toEqual([]);
});
