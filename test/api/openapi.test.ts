/**
 * The OpenAPI spec against the app and the docs: every route the app serves is in
 * /openapi.json, and every curl example in README.md and docs/*.md names a path and method of the
 * spec, with a JSON body that the spec's request schema accepts.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { startSystem, type TestSystem } from "../../harness/system";

let sys: TestSystem;
let spec: { openapi: string; paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: object }> } }>> };
beforeAll(async () => {
  sys = await startSystem({ RATE_LIMIT_ENABLED: "false" });
  const res = await sys.request("GET", "/openapi.json");
  expect(res.status).toBe(200);
  spec = (await res.json()) as typeof spec;
});
afterAll(() => sys.close());

/** Pages (the dashboard, the link owners' page) and the spec itself: served, not API operations. */
const NOT_API = (path: string) => path === "/" || path === "/ws" || path.startsWith("/dashboard") || path === "/app" || path.startsWith("/app/") || path === "/docs" || path === "/openapi.json" || path.includes("*");

describe("OpenAPI", () => {
  test("/openapi.json is OpenAPI 3 and /docs is a page", async () => {
    expect(spec.openapi).toMatch(/^3\./);
    const docs = await sys.request("GET", "/docs");
    expect(docs.status).toBe(200);
    expect(docs.headers.get("content-type")).toContain("text/html");
  });

  test("every route the app serves is in the spec, with its method", () => {
    const routes = (sys.composed.app as unknown as { routes: Array<{ method: string; path: string }> }).routes;
    const missing = routes
      .filter((r) => !["HEAD", "OPTIONS", "ALL", "WS"].includes(r.method) && !NOT_API(r.path))
      .map((r) => ({ method: r.method.toLowerCase(), path: r.path.replace(/:(\w+)/g, "{$1}") }))
      .filter((r) => spec.paths[r.path]?.[r.method] === undefined)
      .map((r) => `${r.method.toUpperCase()} ${r.path}`);
    expect(routes.length).toBeGreaterThan(10);
    expect(missing).toEqual([]);
  });

  test("every curl example in the README and docs/*.md is a route of the spec, and its JSON body validates against the spec's schema", () => {
    const root = join(import.meta.dir, "../..");
    const docs = readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md")).sort().map((f) => join(root, "docs", f));
    const readme = [join(root, "README.md"), ...docs].map((file) => readFileSync(file, "utf8")).join("\n");
    const commands = readme
      .replace(/\\\n\s*/g, " ")
      .split("\n")
      .filter((l) => l.trimStart().startsWith("curl "));
    expect(commands.length).toBeGreaterThanOrEqual(8);
    const problems: string[] = [];
    for (const command of commands) {
      const method = (/-X (\w+)/.exec(command)?.[1] ?? "GET").toLowerCase();
      const url = /https?:\/\/[^\s'"]+/.exec(command)![0];
      const path = new URL(url).pathname;
      const template = Object.keys(spec.paths).find((p) => new RegExp(`^${p.replace(/\{\w+\}/g, "[^/]+")}$`).test(path) && spec.paths[p]![method]);
      if (!template) {
        problems.push(`${method.toUpperCase()} ${path}: not in the spec`);
        continue;
      }
      const body = /-d '([^']*)'/.exec(command)?.[1];
      if (body === undefined) continue;
      const schema = spec.paths[template]![method]!.requestBody?.content["application/json"]?.schema;
      if (!schema) {
        problems.push(`${method.toUpperCase()} ${template}: the docs send JSON the spec does not describe`);
        continue;
      }
      const parsed = z.fromJSONSchema(schema as never).safeParse(JSON.parse(body));
      if (!parsed.success) problems.push(`${method.toUpperCase()} ${template}: ${parsed.error.issues[0]!.message}`);
    }
    expect(problems).toEqual([]);
  });

  test("the spec's schemas are the validation's: a body the spec refuses, the route refuses", async () => {
    const schema = spec.paths["/create"]!.post!.requestBody!.content["application/json"]!.schema;
    const bad = { url: 42 };
    expect(z.fromJSONSchema(schema as never).safeParse(bad).success).toBe(false);
    expect((await sys.request("POST", "/create", bad)).status).toBe(400);
  });
});
