import { afterAll, expect, test } from "bun:test";
import { compose, type Composed } from "../../src/composition/server";
import { parseConfig } from "../../src/config";
import { createLogger } from "../../src/observability/logger";
import { BASE, clusterNodesEnv } from "../../harness/system";

/**
 * The dashboard's files are routes from the very first request. The server listens before
 * start() finishes (readiness probes arrive early), and a request that came before the static
 * routes were registered used to leave /dashboard answering 404 for good.
 */

let composed: Composed | undefined;
afterAll(() => composed?.close());

test("the dashboard is served on the first request, before start()", async () => {
  const parsed = parseConfig({ LOG_LEVEL: "error", ...clusterNodesEnv() });
  if (!parsed.ok) throw new Error(parsed.message);
  composed = await compose(parsed.config, createLogger(parsed.config.LOG_LEVEL));

  const first = await composed.app.handle(new Request(`${BASE}/dashboard`));
  expect(first.status).toBe(200);
  expect(await first.text()).toContain('<base href="/dashboard/">');
  for (const [path, type] of [
    ["/dashboard/", "text/html"],
    ["/dashboard/app.js", "javascript"],
    ["/dashboard/styles.css", "text/css"],
  ] as const) {
    const res = await composed.app.handle(new Request(`${BASE}${path}`));
    expect({ path, status: res.status }).toEqual({ path, status: 200 });
    expect(res.headers.get("content-type") ?? "").toContain(type);
  }
});
