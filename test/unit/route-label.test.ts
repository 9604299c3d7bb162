import { expect, test } from "bun:test";
import { pathOf, routeLabel } from "../../src/http/route-label";

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
])("%p is labelled %p", (url, label) => {
  expect(routeLabel(pathOf(url))).toBe(label);
});
