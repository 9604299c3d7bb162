/**
 * Property-based fuzzing of every route, in-process through the real front door against the
 * real cluster: whatever the method, path, percent-encoding, headers or body, the answer is
 * never a 5xx, an error is a JSON 4xx naming the problem, no node's breaker changes state (a
 * client's bad input is not a node failure), the server stays ready, and links stored before
 * still resolve.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { watchBreakers } from "../support/breaker-watch";
import { makeKey } from "../support/keys";
import { FUZZ_ROUTES, fuzzRequest, toRequest } from "../../harness/fuzz-requests";
import { startSystem, uniqueUrl, type TestSystem } from "../../harness/system";

const RUNS = Number(process.env.FUZZ_RUNS ?? 2500);
let sys: TestSystem;
let stored: Array<{ code: string; url: string }> = [];
let key: { text: string };
let adminKey: { text: string };
let breakers: ReturnType<typeof watchBreakers>;

beforeAll(async () => {
  // Closed observability (the default): the access checks are part of what is fuzzed.
  sys = await startSystem({ RATE_LIMIT_ENABLED: "false", INSTANCE_ID: "15", DB_TIMEOUT_MS: "3000", OBSERVABILITY_PUBLIC: "false", ADMIN_TOKEN: "fuzz-admin-token-0123456789" });
  [key, adminKey] = await Promise.all([makeKey(sys.config, "fuzz"), makeKey(sys.config, "fuzz-admin", "admin")]);
  for (let i = 0; i < 5; i++) {
    const url = uniqueUrl("fuzz-keep");
    const res = await sys.request("POST", "/create", { url });
    stored.push({ code: ((await res.json()) as { short_code: string }).short_code, url });
  }
  breakers = watchBreakers(sys.composed.shards);
});
afterAll(() => {
  breakers.stop();
  return sys.close();
});

describe("fuzz: every route, random input", () => {
  test(`${RUNS} random requests: never a 5xx, never a hang; errors are JSON naming the problem`, async () => {
    const failures: string[] = [];
    await fc.assert(
      fc.asyncProperty(fuzzRequest, fc.constantFrom("random", "user", "admin"), async (r, credential) => {
        if (credential !== "random") r.headers.authorization = `Bearer ${credential === "admin" ? adminKey.text : key.text}`;
        const started = performance.now();
        const res = await Promise.race([sys.composed.fetch(toRequest("http://localhost", r)), Bun.sleep(15_000).then(() => null)]);
        if (res === null) throw new Error(`${r.method} ${r.path}: no answer within 15 s`);
        const text = await res.text();
        if (res.status >= 500) failures.push(`${r.method} ${r.path} → ${res.status} ${text.slice(0, 200)}`);
        if (res.status >= 400 && r.method !== "HEAD") {
          const error = (JSON.parse(text) as { error?: { code?: unknown; message?: unknown } }).error;
          if (typeof error?.code !== "string" || typeof error.message !== "string" || error.message === "") failures.push(`${r.method} ${r.path} → ${res.status} without a JSON error: ${text.slice(0, 200)}`);
        }
        return failures.length === 0 && performance.now() - started < 15_000;
      }),
      { numRuns: RUNS, seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31) },
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${failures.slice(0, 5).join("\n")}`);
    });
    expect(failures).toEqual([]);
  }, 300_000);

  test("afterwards no breaker has changed state, the server is ready (status ok) and every link stored before still resolves", async () => {
    expect(breakers.changes()).toEqual([]);
    const ready = await sys.request("GET", "/health/ready");
    expect([ready.status, ((await ready.json()) as { status: string }).status]).toEqual([200, "ok"]);
    for (const { code, url } of stored) {
      const res = await sys.request("GET", `/${code}`);
      expect([res.status, res.headers.get("location")]).toEqual([302, url]);
    }
  });

  test("the generator aims at every route the spec publishes", async () => {
    const spec = (await (await sys.request("GET", "/openapi.json")).json()) as { paths: Record<string, unknown> };
    const templates = Object.keys(spec.paths).map((p) => p.replace(/\{\w+\}/g, ":x"));
    expect(templates.length).toBeGreaterThan(10);
    expect(templates.filter((t) => !FUZZ_ROUTES.includes(t))).toEqual([]);
  });

  test.each(["/%", "/%ff%fe", "/ab%zz", "/%E0%A4%A", "/api/links/%zz", "/api/links/%/stats"])("a malformed percent-encoding (%p) is a 404 JSON, not a 500", async (path) => {
    const res = await sys.composed.fetch(new Request(`http://localhost${path}`, { headers: { authorization: `Bearer ${key.text}` } }));
    expect(res.status).toBeLessThan(500);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBeString();
  });
});
