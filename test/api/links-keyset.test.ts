/**
 * Paging and export are exact: whatever mix of single, bulk and import calls made a key's links
 * (bulk and import put hundreds in one statement, so many share a microsecond and a shard),
 * paging at any limit and export both return exactly that set, each link once, newest first
 * across shards; creates running during an export neither duplicate nor hide earlier links.
 * And a cursor, limit or code the API never issued is a 400 that reaches no SQL and moves no
 * breaker.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { makeKey } from "../support/keys";
import { watchBreakers } from "../support/breaker-watch";
import { startSystem, uniqueUrl, type TestSystem } from "../../harness/system";

let sys: TestSystem;
beforeAll(async () => {
  sys = await startSystem({ RATE_LIMIT_ENABLED: "false", INSTANCE_ID: "21" });
});
afterAll(() => sys.close());

type Key = { id: string; text: string };
const auth = (key: Key) => ({ authorization: `Bearer ${key.text}` });

async function json(res: Response): Promise<any> {
  const text = await res.text();
  if (res.status >= 500) throw new Error(`answered ${res.status}: ${text}`);
  return { status: res.status, ...JSON.parse(text) };
}

type Make = { kind: "single" } | { kind: "bulk"; n: number } | { kind: "import"; n: number };
const make: fc.Arbitrary<Make> = fc.oneof(
  fc.constant({ kind: "single" as const }),
  fc.integer({ min: 1, max: 120 }).map((n) => ({ kind: "bulk" as const, n })),
  fc.integer({ min: 1, max: 250 }).map((n) => ({ kind: "import" as const, n })),
);

/** Makes the links; returns their long URLs (an import answers counts, not codes). */
async function createAll(key: Key, plan: readonly Make[]): Promise<Set<string>> {
  const urls = new Set<string>();
  const fresh = (n: number) => Array.from({ length: n }, () => uniqueUrl("ks")).map((u) => (urls.add(u), u));
  for (const step of plan) {
    if (step.kind === "single") {
      expect((await json(await sys.request("POST", "/create", { url: fresh(1)[0] }, { headers: auth(key) }))).status).toBe(201);
    } else if (step.kind === "bulk") {
      const res = await json(await sys.request("POST", "/api/links/bulk", { links: fresh(step.n).map((url) => ({ url })) }, { headers: auth(key) }));
      expect(res.created).toBe(step.n);
    } else {
      const lines = fresh(step.n).map((url) => JSON.stringify({ url })).join("\n");
      const res = await json(await sys.request("POST", "/api/links/import", undefined, { headers: { ...auth(key), "content-type": "application/x-ndjson" }, raw: lines }));
      expect(res.created).toBe(step.n);
    }
  }
  return urls;
}

type Listed = { short_code: string; long_url: string; created_at: string };

async function pageAll(key: Key, limit: number): Promise<Listed[]> {
  const seen: Listed[] = [];
  let cursor: string | null = null;
  do {
    const res: any = await json(await sys.request("GET", `/api/links?limit=${limit}${cursor ? `&cursor=${cursor}` : ""}`, undefined, { headers: auth(key) }));
    expect(res.status).toBe(200);
    seen.push(...res.links);
    cursor = res.next_cursor;
  } while (cursor !== null);
  return seen;
}

async function exportAll(key: Key): Promise<Listed[]> {
  const res = await sys.request("GET", "/api/links/export", undefined, { headers: auth(key) });
  expect(res.status).toBe(200);
  return (await res.text()).split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
}

const newestFirst = (rows: Array<{ created_at: string }>) => rows.every((r, i) => i === 0 || rows[i - 1]!.created_at >= r.created_at);

describe("paging and export are exact", () => {
  test("30 links from one bulk call, paged 7 at a time: all 30, once each", async () => {
    const key = await makeKey(sys.config, "keyset-30");
    const made = await createAll(key, [{ kind: "bulk", n: 30 }]);
    const paged = await pageAll(key, 7);
    expect(paged.map((l) => l.long_url).sort()).toEqual([...made].sort());
    expect(new Set(paged.map((l) => l.short_code)).size).toBe(30);
  });

  test("property: any mix of single, bulk and import calls; paging at any limit and export both return exactly the set, in order", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(make, { minLength: 1, maxLength: 5 }), fc.integer({ min: 1, max: 100 }), async (plan, limit) => {
        const key = await makeKey(sys.config, "keyset-prop");
        const made = await createAll(key, plan);
        const paged = await pageAll(key, limit);
        const exported = await exportAll(key);
        for (const listing of [paged, exported]) {
          const codes = listing.map((l) => l.short_code);
          expect(new Set(codes).size).toBe(codes.length);
          expect(listing.map((l) => l.long_url).sort()).toEqual([...made].sort());
          expect(newestFirst(listing)).toBe(true);
        }
        expect(exported.map((l) => l.short_code)).toEqual(paged.map((l) => l.short_code));
      }),
      { numRuns: 8 },
    );
  }, 120_000);

  test("creates running during an export: every earlier link exactly once, nothing twice", async () => {
    const key = await makeKey(sys.config, "keyset-concurrent");
    const before = await createAll(key, [{ kind: "import", n: 1500 }]);
    let stop = false;
    const during = (async () => {
      let n = 0;
      while (!stop && n < 300) {
        await sys.request("POST", "/api/links/bulk", { links: Array.from({ length: 10 }, () => ({ url: uniqueUrl("ks-during") })) }, { headers: auth(key) });
        n += 10;
      }
    })();
    const exported = await exportAll(key);
    stop = true;
    await during;
    const codes = exported.map((l) => l.short_code);
    expect(new Set(codes).size).toBe(codes.length);
    const urls = new Set(exported.map((l) => l.long_url));
    expect([...before].filter((u) => !urls.has(u))).toEqual([]);
  }, 60_000);
});

const pad = (n: number, width: number) => String(n).padStart(width, "0");
/** Timestamps of the calendar's shape with any field out of range (a 13th month, a 61st minute), as older cursors carried. */
const calendarShaped = fc
  .tuple(fc.integer({ min: 0, max: 9999 }), fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 999_999 }))
  .map(([y, mo, d, h, mi, s, us]) => `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}T${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}.${pad(us, 6)}Z`);
const position = fc.oneof(
  { weight: 4, arbitrary: calendarShaped },
  { weight: 2, arbitrary: fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }).map(String) },
  { weight: 1, arbitrary: fc.oneof(fc.string(), fc.constantFrom("1e400", "-1", "01", "NaN", "", " 1")) },
);
/** Cursors shaped like ours with impossible content, and junk. */
const cursor = fc.oneof(
  { weight: 5, arbitrary: fc.tuple(position, fc.oneof(fc.stringMatching(/^[A-Za-z0-9]{1,11}$/), fc.string())).map((parts) => Buffer.from(JSON.stringify(parts)).toString("base64url")) },
  { weight: 1, arbitrary: fc.json().map((j) => Buffer.from(j).toString("base64url")) },
  { weight: 1, arbitrary: fc.string({ maxLength: 600 }) },
);

describe("bad queries reach no SQL", () => {
  test("property: any generated cursor, limit or code with any credential → never a 5xx, no breaker moves, readiness stays ok", async () => {
    const [user, admin] = await Promise.all([makeKey(sys.config, "keyset-bad"), makeKey(sys.config, "keyset-bad-admin", "admin")]);
    const watch = watchBreakers(sys.composed.shards);
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom<Key | null>(user, user, admin, null, { id: "x", text: "shk_AAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB" }),
          fc.oneof(
            fc.tuple(cursor, fc.option(fc.oneof(fc.integer().map(String), fc.string({ maxLength: 8 })))).map(([c, l]) => `/api/links?cursor=${encodeURIComponent(c)}${l === null ? "" : `&limit=${encodeURIComponent(l)}`}`),
            fc.tuple(cursor, fc.option(fc.oneof(fc.integer().map(String), fc.string({ maxLength: 8 })))).map(([c, l]) => `/api/links?cursor=${encodeURIComponent(c)}${l === null ? "" : `&limit=${encodeURIComponent(l)}`}`),
            fc.string({ maxLength: 80 }).map((s) => `/api/links/${encodeURIComponent(s)}`),
            fc.tuple(fc.string({ maxLength: 80 }), fc.string({ maxLength: 10 })).map(([s, g]) => `/api/links/${encodeURIComponent(s)}/stats?granularity=${encodeURIComponent(g)}`),
          ),
          async (key, path) => {
            const res = await sys.request("GET", path, undefined, { headers: key ? auth(key) : {} });
            const body = await res.text();
            expect(res.status, `${path} → ${body}`).toBeLessThan(500);
            if (res.status === 400) expect(JSON.parse(body).error.code).toBe("invalid-query");
          },
        ),
        { numRuns: 400 },
      );
      expect(watch.changes()).toEqual([]);
      const ready = await json(await sys.request("GET", "/health/ready"));
      expect([ready.status, ready.ready]).toEqual(["ok", true]);
    } finally {
      watch.stop();
    }
  }, 120_000);

  test.each([["2026-13-01T00:00:00.000000Z"], ["2026-01-01T00:61:00.000000Z"], ["99999999999999999999"], ["-5"]])("cursor position %p is 400 invalid-query", async (position) => {
    const key = await makeKey(sys.config, "keyset-one");
    const res = await sys.request("GET", `/api/links?cursor=${Buffer.from(JSON.stringify([position, "abcdefghij"])).toString("base64url")}`, undefined, { headers: auth(key) });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.code).toBe("invalid-query");
  });
});
