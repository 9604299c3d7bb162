/**
 * Bulk and import pay for each link they create out of the key's budget (RATE_LIMIT_KEY_PER_MIN),
 * on top of the request's own token: what exceeds it is refused per item, with the reason, and
 * never created; the RateLimit headers say what is left. Links are counted in the shards'
 * primaries, not only in the answers.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { CreateBudget } from "../../src/modules/ratelimit/create-budget";
import { RateLimiter, type RateBucket } from "../../src/modules/ratelimit/rate-limiter";
import { gcraParams } from "../../src/domain/gcra";
import { makeKey } from "../support/keys";
import { startSystem, uniqueUrl, type TestSystem } from "../../harness/system";

const PER_MIN = 30;
const EMISSION_MS = 60_000 / PER_MIN;
let sys: TestSystem;

beforeAll(async () => {
  sys = await startSystem({ RATE_LIMIT_KEY_PER_MIN: String(PER_MIN), INSTANCE_ID: "38" });
});
afterAll(() => sys.close());

type Key = { id: string; text: string };
const auth = (key: Key) => ({ authorization: `Bearer ${key.text}` });

async function bulk(key: Key, n: number) {
  const res = await sys.request("POST", "/api/links/bulk", { links: Array.from({ length: n }, () => ({ url: uniqueUrl("budget") })) }, { headers: auth(key) });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}

async function importLines(key: Key, n: number) {
  const raw = Array.from({ length: n }, () => JSON.stringify({ url: uniqueUrl("budget-import") })).join("\n");
  const res = await sys.request("POST", "/api/links/import", undefined, { headers: { ...auth(key), "content-type": "application/x-ndjson" }, raw });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}

/** The key's links as the primaries hold them. */
async function stored(key: Key): Promise<number> {
  let total = 0;
  for (const shard of sys.composed.shards.shards) {
    const [row] = await shard.primary.client<{ n: string }[]>`select count(*)::text as n from links where owner = ${key.id}`;
    total += Number(row!.n);
  }
  return total;
}

/** Tokens that may have come back while `started` ago: one per emission interval, plus the one under way. */
const refillSince = (started: number) => Math.floor((performance.now() - started) / EMISSION_MS) + 1;

describe("bulk and import pay per link", () => {
  test("a bulk call over the budget: the budget's worth is created, the rest refused per item, and RateLimit-Remaining says 0", async () => {
    const key = await makeKey(sys.config, "bulk-over");
    const started = performance.now();
    const res = await bulk(key, 50);
    expect(res.status).toBe(200);
    const created = res.body.results.filter((r: any) => r.created === true);
    const refused = res.body.results.filter((r: any) => r.error !== undefined);
    // The request's own token, then one per link.
    expect(created.length).toBeGreaterThanOrEqual(PER_MIN - 1);
    expect(created.length).toBeLessThanOrEqual(PER_MIN - 1 + refillSince(started));
    expect(created.length + refused.length).toBe(50);
    // Granted in order: the refused ones are the last.
    expect(created.map((r: any) => r.index)).toEqual(Array.from({ length: created.length }, (_, i) => i));
    for (const r of refused) {
      expect(r.error.code).toBe("rate-limited");
      expect(r.error.message).toContain(`budget of ${PER_MIN} links per 60 s (RATE_LIMIT_KEY_PER_MIN)`);
    }
    expect(res.body.created).toBe(created.length);
    expect(res.headers.get("ratelimit-remaining")).toBe("0");
    expect(res.headers.get("ratelimit-limit")).toBe(String(PER_MIN));
    expect(await stored(key)).toBe(created.length);
    // Nothing left for the next call itself.
    expect((await bulk(key, 1)).status).toBe(429);
  });

  test("a small bulk call: RateLimit-Remaining drops by one for the call and one per link", async () => {
    const key = await makeKey(sys.config, "bulk-small");
    const res = await bulk(key, 5);
    expect(res.body.created).toBe(5);
    expect(res.headers.get("ratelimit-remaining")).toBe(String(PER_MIN - 1 - 5));
    const next = await bulk(key, 3);
    expect(next.headers.get("ratelimit-remaining")).toBe(String(PER_MIN - 2 - 8));
  });

  test("an import over the budget: the budget's worth is created, the other lines say rate-limited", async () => {
    const key = await makeKey(sys.config, "import-over");
    const started = performance.now();
    const res = await importLines(key, 45);
    expect(res.status).toBe(200);
    expect(res.body.created).toBeGreaterThanOrEqual(PER_MIN - 1);
    expect(res.body.created).toBeLessThanOrEqual(PER_MIN - 1 + refillSince(started));
    const limited = res.body.errors.filter((e: any) => e.code === "rate-limited");
    expect(limited.length).toBe(45 - res.body.created);
    expect(limited[0].message).toContain("RATE_LIMIT_KEY_PER_MIN");
    // The lines refused are the last ones (line numbers are 1-based).
    expect(limited[0].line).toBe(res.body.created + 1);
    expect(res.headers.get("ratelimit-remaining")).toBe("0");
    expect(await stored(key)).toBe(res.body.created);
  });

  test("a batch of 1,000 items is reserved in one call to Redis", async () => {
    let takes = 0;
    class Counting extends RateLimiter {
      override take(bucket: RateBucket, clientKey: string, wanted: number) {
        takes++;
        return super.take(bucket, clientKey, wanted);
      }
    }
    const params = gcraParams({ perMinute: 600 });
    const limiter = new Counting(sys.composed.shards, (k) => sys.composed.router.current.write.shardFor(k), { create: params, keyed: params, auth: params }, "memory");
    const budget = new CreateBudget(limiter, `test-${crypto.randomUUID()}`);
    const made: number[] = [];
    const create = budget.charged(async (i: number) => made.push(i));
    const outcomes = await Promise.allSettled(Array.from({ length: 1000 }, (_, i) => create(i)));
    expect(takes).toBe(1);
    expect(made.length).toBe(600);
    expect(outcomes.filter((o) => o.status === "rejected").length).toBe(400);
    expect(budget.headers()["ratelimit-remaining"]).toBe("0");
  });

  test("property: whatever the mix of bulk and import calls, one after another or at once, a key never creates more than its budget", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ kind: fc.constantFrom("bulk", "import"), size: fc.integer({ min: 1, max: 40 }) }), { minLength: 1, maxLength: 5 }),
        fc.boolean(),
        async (calls, atOnce) => {
          const key = await makeKey(sys.config, "budget-property");
          const started = performance.now();
          const run = (c: { kind: string; size: number }) => (c.kind === "bulk" ? bulk(key, c.size) : importLines(key, c.size));
          const answers = atOnce ? await Promise.all(calls.map(run)) : await calls.reduce(async (done, c) => [...(await done), await run(c)], Promise.resolve([] as Awaited<ReturnType<typeof run>>[]));
          const refill = refillSince(started);
          const admitted = answers.filter((a) => a.status === 200).length;
          for (const a of answers) expect([200, 429]).toContain(a.status);
          const created = answers.reduce((n, a) => n + (a.status === 200 ? a.body.created : 0), 0);
          expect(await stored(key)).toBe(created);
          // Every token taken paid for a call or a link: no more than the bucket and its refill.
          expect(admitted + created).toBeLessThanOrEqual(PER_MIN + refill);
          // And the budget is really spent before anything is refused.
          const asked = calls.length + calls.reduce((n, c) => n + c.size, 0);
          expect(admitted + created).toBeGreaterThanOrEqual(Math.min(asked, PER_MIN));
        },
      ),
      { numRuns: 12 },
    );
  }, 120_000);
});
