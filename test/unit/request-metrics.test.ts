import { expect, test } from "bun:test";
import fc from "fast-check";
import { Counter, Histogram, Registry } from "prom-client";
import { RequestMetrics } from "../../src/observability/request-metrics";

const BOUNDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** The same observations through prom-client's own Counter and Histogram: the reference. */
async function reference(observations: ReadonlyArray<readonly [string, string, number, number]>): Promise<string> {
  const registry = new Registry();
  const counter = new Counter({ name: "shorten_http_requests_total", help: "HTTP requests by route, method and status", labelNames: ["route", "method", "status"], registers: [registry] });
  const histogram = new Histogram({ name: "shorten_http_request_duration_seconds", help: "HTTP request latency by route", labelNames: ["route", "method"], buckets: BOUNDS, registers: [registry] });
  for (const [route, method, status, seconds] of observations) {
    counter.inc({ route, method, status: String(status) });
    histogram.observe({ route, method }, seconds);
  }
  return registry.metrics();
}

async function ours(observations: ReadonlyArray<readonly [string, string, number, number]>): Promise<string> {
  const registry = new Registry();
  const metrics = new RequestMetrics(BOUNDS);
  for (const metric of metrics.metrics()) registry.registerMetric(metric);
  for (const [route, method, status, seconds] of observations) metrics.observe(route, method, status, seconds);
  return registry.metrics();
}

/** Series order may differ; sums are compared to the last few digits of float addition. */
function lines(text: string): string[] {
  return text
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => l.replace(/^(\S+_sum\{[^}]*\}) (\S+)$/, (_, k: string, v: string) => `${k} ${Number(v).toPrecision(9)}`))
    .sort();
}

test("exposes exactly what prom-client's own Counter and Histogram expose for the same requests", async () => {
  const observation = fc.tuple(fc.constantFrom("/:code", "/create", "/health/ready"), fc.constantFrom("GET", "POST"), fc.constantFrom(200, 302, 404, 503), fc.double({ min: 0, max: 5, noNaN: true }));
  await fc.assert(
    fc.asyncProperty(fc.array(observation, { maxLength: 200 }), async (observations) => {
      expect(lines(await ours(observations))).toEqual(lines(await reference(observations)));
    }),
    { numRuns: 100 },
  );
});

test("a value on a bucket's bound counts in that bucket (le is inclusive)", async () => {
  const text = await ours([["/:code", "GET", 302, 0.001]]);
  expect(text).toContain('shorten_http_request_duration_seconds_bucket{le="0.0005",route="/:code",method="GET"} 0');
  expect(text).toContain('shorten_http_request_duration_seconds_bucket{le="0.001",route="/:code",method="GET"} 1');
});
