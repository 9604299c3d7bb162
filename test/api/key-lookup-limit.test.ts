/**
 * Wrong API keys against the real catalog: they are charged to the client address before any
 * lookup (429 once its `auth` budget is spent), a wrong key text is remembered so repeating it
 * costs no query, and real keys keep working. Catalog queries are counted by PostgreSQL itself:
 * the scans of api_keys on shard 0's primary (index or sequential, whichever the planner picks
 * for the lookup), read from pg_stat_user_tables. The revocation poll scans it too, so these
 * systems poll once a minute only, and the bounds leave room for other suites' lookups.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { newApiKey } from "../../src/domain/api-key";
import { insertKey } from "../../src/storage/key-rows";
import { shardUrls } from "../../harness/cluster";
import { makeKey } from "../support/keys";
import { startSystem, type TestSystem } from "../../harness/system";

const AUTH_PER_MIN = 20;
const UNKNOWN_TTL_MS = 2000;
const settings = { RATE_LIMIT_AUTH_PER_MIN: String(AUTH_PER_MIN), KEYS_UNKNOWN_TTL_MS: String(UNKNOWN_TTL_MS), KEYS_POLL_MS: "60000" };
let catalog: postgres.Sql;

beforeAll(() => {
  catalog = postgres(shardUrls()[0]!.primary, { max: 1 });
});
afterAll(() => catalog.end({ timeout: 2 }));

const address = () => `198.18.${Math.floor(Math.random() * 250)}.${crypto.randomUUID().slice(0, 8)}`;
const randomKey = () => newApiKey((n) => crypto.getRandomValues(new Uint8Array(n))).text;
const asKey = (sys: TestSystem, text: string, peer: string) => sys.request("GET", "/api/links?limit=1", undefined, { headers: { authorization: `Bearer ${text}` }, peer });

/** Scans of api_keys so far, as the statistics have them. */
async function scans(): Promise<number> {
  const [row] = await catalog<{ n: string }[]>`select (seq_scan + coalesce(idx_scan, 0))::text as n from pg_stat_user_tables where relname = 'api_keys'`;
  return Number(row!.n);
}

/**
 * The scans of api_keys a fresh system makes while `run` drives it. A backend may hold its
 * counts for up to 10 s before reporting them, but reports them when it exits: so the system is
 * closed (its pools ended) before the counts are read.
 */
async function scansDuring(overrides: Record<string, string>, run: (sys: TestSystem) => Promise<void>): Promise<number> {
  const sys = await startSystem({ ...settings, ...overrides });
  const before = await scans();
  try {
    await run(sys);
  } finally {
    await sys.close();
  }
  let last = -1;
  for (let now = await scans(); now !== last; now = await scans()) {
    last = now;
    await Bun.sleep(300);
  }
  return last - before;
}

async function flood(target: TestSystem, peer: string, n: number): Promise<Record<number, number>> {
  const statuses: Record<number, number> = {};
  for (let i = 0; i < n; i += 50) {
    const batch = await Promise.all(Array.from({ length: Math.min(50, n - i) }, async () => (await asKey(target, randomKey(), peer)).status));
    for (const s of batch) statuses[s] = (statuses[s] ?? 0) + 1;
  }
  return statuses;
}

describe("wrong API keys", () => {
  test("the measure sees every lookup when nothing stops them (the control: rate limits off, nothing remembered)", async () => {
    let statuses: Record<number, number> = {};
    const seen = await scansDuring({ RATE_LIMIT_ENABLED: "false", KEYS_UNKNOWN_TTL_MS: "0", INSTANCE_ID: "34" }, async (sys) => {
      statuses = await flood(sys, address(), 200);
    });
    expect(statuses).toEqual({ 401: 200 });
    expect(seen).toBeGreaterThanOrEqual(200);
  }, 30_000);

  test("random well-formed keys from one address: 429 once its budget is spent, the catalog hears of a budget's worth only, real keys keep working", async () => {
    let statuses: Record<number, number> = {};
    let elapsed = 0;
    const seen = await scansDuring({ INSTANCE_ID: "35" }, async (sys) => {
      const known = await makeKey(sys.config, "flood-survivor");
      const other = await makeKey(sys.config, "other-address");
      const peer = address();
      expect((await asKey(sys, known.text, peer)).status).toBe(200);
      const started = performance.now();
      statuses = await flood(sys, peer, 600);
      elapsed = performance.now() - started;
      const limited = await asKey(sys, randomKey(), peer);
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect(((await limited.json()) as { error: { code: string; message: string } }).error.message).toContain("RATE_LIMIT_AUTH_PER_MIN");
      // A key this instance knows is answered from memory, before the address is charged.
      expect((await asKey(sys, known.text, peer)).status).toBe(200);
      expect((await asKey(sys, other.text, address())).status).toBe(200);
    });
    // The known key's first use and the other key's are lookups too (1 + 1); their tokens came back.
    const refill = Math.ceil((elapsed / 60_000) * AUTH_PER_MIN) + 1;
    expect(statuses[401]).toBeLessThanOrEqual(AUTH_PER_MIN + refill);
    expect(statuses[429]).toBeGreaterThanOrEqual(600 - AUTH_PER_MIN - refill);
    expect(statuses[401]! + statuses[429]!).toBe(600);
    // Other suites may scan api_keys meanwhile: some slack, far below 600.
    expect(seen).toBeLessThanOrEqual(AUTH_PER_MIN + refill + 2 + 30);
  }, 60_000);

  test("real keys cost their address nothing: more new keys than the budget, first used from one address, all work", async () => {
    const sys = await startSystem({ ...settings, INSTANCE_ID: "39" });
    try {
      const peer = address();
      for (let i = 0; i < AUTH_PER_MIN + 5; i++) {
        const key = await makeKey(sys.config, "many-from-one");
        expect((await asKey(sys, key.text, peer)).status).toBe(200);
      }
    } finally {
      await sys.close();
    }
  }, 30_000);

  test("a wrong key repeated from many addresses costs one lookup: remembered one after another, shared when at once", async () => {
    const statuses: number[] = [];
    const seen = await scansDuring({ INSTANCE_ID: "36" }, async (sys) => {
      const again = randomKey();
      for (let i = 0; i < 100; i++) statuses.push((await asKey(sys, again, address())).status);
      const atOnce = randomKey();
      statuses.push(...(await Promise.all(Array.from({ length: 100 }, async () => (await asKey(sys, atOnce, address())).status))));
    });
    expect(statuses.filter((s) => s === 401).length).toBe(200);
    // Two lookups; without the memory or the sharing, about a hundred more.
    expect(seen).toBeLessThanOrEqual(2 + 20);
  }, 30_000);

  test("a key is never refused for longer than KEYS_UNKNOWN_TTL_MS after it exists, even if its text was tried before", async () => {
    const sys = await startSystem({ ...settings, INSTANCE_ID: "37" });
    try {
      // Made and used at once, the normal way: it was never remembered as wrong.
      const made = await makeKey(sys.config, "at-once");
      expect((await asKey(sys, made.text, address())).status).toBe(200);
      // The worst case: the exact text was refused just before the key was stored.
      const key = newApiKey((n) => crypto.getRandomValues(new Uint8Array(n)));
      const peer = address();
      expect((await asKey(sys, key.text, peer)).status).toBe(401);
      await insertKey(sys.composed.shards.at(0).primary, { id: key.id, name: "tried-before", scope: "user", hash: key.hash });
      const stored = performance.now();
      for (;;) {
        const status = (await asKey(sys, key.text, peer)).status;
        if (status === 200) break;
        expect(status).toBe(401);
        expect(performance.now() - stored).toBeLessThan(UNKNOWN_TTL_MS + 500);
        // Each try is charged to the address's budget: a few tries a second stay well within it.
        await Bun.sleep(250);
      }
    } finally {
      await sys.close();
    }
  }, 15_000);
});
