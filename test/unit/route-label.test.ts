import { expect, test } from "bun:test";
import fc from "fast-check";
import { pathOf, pathStart, routeLabeler } from "../../src/http/route-label";

// The shape of the app's routes (the API test checks the app's own list).
const routeLabel = routeLabeler(["/", "/create", "/:code", "/health/live", "/health/ready", "/metrics", "/ws", "/api/links", "/api/links/export", "/api/links/:code", "/api/links/:code/stats", "/dashboard/", "/dashboard/app.js"], ["/dashboard"]);

test.each([
  ["http://h:1/8sHulm2g6M", "/:code"],
  ["http://h:1/anything-at-all?x=1", "/:code"],
  ["http://h:1/create", "/create"],
  ["http://h:1/health/ready", "/health/ready"],
  ["http://h:1/ws?topics=reads", "/ws"],
  ["http://h:1/dashboard/", "/dashboard/*"],
  ["http://h:1/dashboard/app.js", "/dashboard/*"],
  ["http://h:1/", "/"],
  ["http://h:1/a/b/c", "unmatched"],
  // Bun's URL for `Host: x`, and for a request without a usable Host (the bare target).
  ["http://x/create", "/create"],
  ["http://x/api/links/abc/stats", "/api/links/:code/stats"],
  ["http://x/api/links/export", "/api/links/export"],
  ["http://x/api/links/abc", "/api/links/:code"],
  ["http://x/api/links//stats", "unmatched"],
  ["http://x/api/links/a/b", "unmatched"],
  ["/create", "/create"],
  ["/health/live?x=1", "/health/live"],
  ["//create", "unmatched"],
])("%p is labelled %p", (url, label) => {
  expect(routeLabel(pathOf(url))).toBe(label);
});

const segment = fc.stringMatching(/^[A-Za-z0-9._~%:;@!$&'()*+,=-]{0,8}$/);
const path = fc.array(segment, { minLength: 1, maxLength: 5 }).map((s) => `/${s.join("/")}`);
const query = fc.option(fc.stringMatching(/^[A-Za-z0-9=&/?.%-]{0,12}$/), { nil: undefined }).map((q) => (q === undefined ? "" : `?${q}`));
// The hosts Bun.serve puts in request.url: any length, with a port, IPv6, credentials-looking.
const host = fc.oneof(fc.domain(), fc.stringMatching(/^[a-z0-9.@:-]{1,12}$/), fc.ipV4().map((ip) => `${ip}:8080`), fc.constant("[::1]:80"), fc.integer({ min: 1, max: 3000 }).map((n) => "h".repeat(n)));

test("property: the path read from a request URL does not depend on the host, or on there being one", () => {
  fc.assert(
    fc.property(host, path, query, (h, p, q) => {
      expect(pathOf(`http://${h}${p}${q}`)).toBe(p);
      expect(pathOf(`https://${h}${p}${q}`)).toBe(p);
      expect(pathOf(`${p}${q}`)).toBe(p);
      expect(pathStart(`http://${h}${p}${q}`)).toBe(`http://${h}`.length);
    }),
    { numRuns: 2000 },
  );
});

test("property: a path is labelled with a registered route or unmatched, and a route's own path is its label", () => {
  const routes = ["/create", "/:code", "/api/links/:code", "/api/links/:code/stats", "/api/links/export"];
  const label = routeLabeler(routes, ["/dashboard"]);
  for (const r of routes) expect(label(r)).toBe(r);
  fc.assert(
    fc.property(path, (p) => {
      expect([...routes, "unmatched", "/dashboard/*"]).toContain(label(p));
    }),
    { numRuns: 2000 },
  );
});
