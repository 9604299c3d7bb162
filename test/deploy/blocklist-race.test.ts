/**
 * A block racing redirects on three instances behind the real HAProxy. Every instance holds the
 * links in its hot cache and Redis holds them too; redirects run without pause through HAProxy
 * and on each instance directly while an admin blocks the links' domain through HAProxy. Then
 * every instance answers 451 within BOUND_MS of the POST's answer (bus, or the catalog poll),
 * and every request through HAProxy from then on too; no instance goes back to 302 once it has
 * answered 451; and unblocking converges back the same way.
 *
 * BOUND_MS is four of the fleet's 500 ms catalog polls: here the bus brings the change within
 * tens of milliseconds, but on a loaded CI host a catalog read may time out (a poll then keeps
 * the list as it was until the next one), and a one-second bound failed twice there in a row.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startFleet, type Fleet } from "../../harness/haproxy";
import { makeKey } from "../support/keys";
import { clusterConfig } from "../../harness/system";

const run = crypto.randomUUID().slice(0, 8);
const DOMAIN = `race-${run}.example`;
const OTHER = `race-create-${run}.example`;
let fleet: Fleet;
let key: { text: string };
let admin: { text: string };
let codes: string[] = [];
const BOUND_MS = 2000;

beforeAll(async () => {
  fleet = await startFleet([34, 35, 36], () => ({ RATE_LIMIT_ENABLED: "false" }));
  [key, admin] = await Promise.all([makeKey(clusterConfig(), "race"), makeKey(clusterConfig(), "race-admin", "admin")]);
  for (let i = 0; i < 4; i++) {
    const res = await fetch(`${fleet.lb.url}/create`, { method: "POST", headers: { authorization: `Bearer ${key.text}`, "content-type": "application/json" }, body: JSON.stringify({ url: `https://s${i}.${DOMAIN}/p/${i}` }) });
    codes.push(((await res.json()) as { short_code: string }).short_code);
  }
}, 60_000);
afterAll(async () => {
  for (const host of [DOMAIN, OTHER]) await fetch(`${fleet.lb.url}/api/admin/blocklist?host=${host}`, { method: "DELETE", headers: { authorization: `Bearer ${admin.text}` } });
  await fleet?.stop();
});

interface Seen {
  /** Where the request went: HAProxy, or one instance directly (only a 302 says which instance answered). */
  target: string;
  startedAt: number;
  endedAt: number;
  status: number;
}

/** Redirects until `stop()`, through HAProxy and on every instance directly, recording each answer. */
function hammer(): { seen: Seen[]; stop: () => Promise<void> } {
  const seen: Seen[] = [];
  let running = true;
  const targets = [fleet.lb.url, ...fleet.instances.map((s) => s.url)];
  const loops = targets.flatMap((base) =>
    [0, 1].map(async (lane) => {
      for (let i = lane; running; i++) {
        const startedAt = performance.now();
        const res = await fetch(`${base}/${codes[i % codes.length]}`, { redirect: "manual" });
        await res.arrayBuffer();
        seen.push({ target: base, startedAt, endedAt: performance.now(), status: res.status });
      }
    }),
  );
  return {
    seen,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

/**
 * Per target: how long after `since` its first answer of `status` came, how many requests that
 * started after that answer got another (none may, on one instance), how many that started
 * BOUND_MS after `since` got another (none may, anywhere), and what it answered from `since` on
 * (status: count), which says why when one of those fails.
 */
function converged(seen: Seen[], since: number, status: number) {
  const byTarget = new Map<string, Seen[]>();
  for (const s of seen) if (s.startedAt >= since - 2000) byTarget.set(s.target, [...(byTarget.get(s.target) ?? []), s]);
  return [...byTarget].map(([target, list]) => {
    const first = list.filter((s) => s.status === status).sort((a, b) => a.endedAt - b.endedAt)[0];
    // A request that started after the first answer of `status` had ended must get that answer too.
    const backslid = first === undefined ? [] : list.filter((s) => s.startedAt > first.endedAt && s.status !== status);
    return { target, direct: target !== fleet.lb.url, afterMs: first === undefined ? Infinity : first.endedAt - since, backslid: backslid.length, late: list.filter((s) => s.startedAt > since + BOUND_MS && s.status !== status).length, answers: answersOf(list.filter((s) => s.endedAt >= since)) };
  });
}

const answersOf = (list: Seen[]) => Object.fromEntries([...Map.groupBy(list, (s) => s.status)].map(([status, of]) => [status, of.length]));

/** HAProxy spreads requests over the instances, which may differ for part of that second: only `late` holds there. */
const verdict = (c: ReturnType<typeof converged>[number]) => ({ target: c.target, within: c.afterMs < BOUND_MS, backslid: c.direct ? c.backslid : 0, late: c.late, afterMs: Math.round(c.afterMs), answers: c.answers });

const adminCall = (method: string, path: string, body?: unknown) =>
  fetch(`${fleet.lb.url}${path}`, { method, headers: { authorization: `Bearer ${admin.text}`, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });

describe("a block racing redirects on three instances behind HAProxy", () => {
  test("every instance answers 451 within two seconds of the block and never 302 after; unblocking converges back", async () => {
    const load = hammer();
    try {
      await Bun.sleep(500);
      expect(new Set(load.seen.map((s) => s.status))).toEqual(new Set([302]));

      const blockStarted = performance.now();
      const blocked = await adminCall("POST", "/api/admin/blocklist", { host: DOMAIN, note: "race test" });
      const blockedAt = performance.now();
      expect(blocked.status).toBe(201);
      await Bun.sleep(BOUND_MS + 500);
      const afterBlock = converged(load.seen, blockedAt, 451);
      expect(afterBlock.length).toBe(4);
      for (const c of afterBlock) expect(verdict(c)).toEqual({ target: c.target, within: true, backslid: 0, late: 0, afterMs: Math.round(c.afterMs), answers: c.answers });
      // Nothing answered 451 before the block was asked for.
      expect(load.seen.filter((s) => s.endedAt < blockStarted && s.status !== 302)).toEqual([]);

      const unblocked = await adminCall("DELETE", `/api/admin/blocklist?host=${DOMAIN}`);
      const unblockedAt = performance.now();
      expect(unblocked.status).toBe(204);
      await Bun.sleep(BOUND_MS + 500);
      for (const c of converged(load.seen, unblockedAt, 302)) expect(verdict(c)).toEqual({ target: c.target, within: true, backslid: 0, late: 0, afterMs: Math.round(c.afterMs), answers: c.answers });
      console.log(`block: 451 everywhere ${Math.max(...afterBlock.map((c) => c.afterMs)).toFixed(1)} ms after the POST answered; ${load.seen.length} redirects in all`);
    } finally {
      await load.stop();
    }
    expect(load.seen.every((s) => s.status === 302 || s.status === 451)).toBe(true);
  }, 30_000);

  test("creates: before the block 201, two seconds after its answer 400 blocked-url on every instance", async () => {
    const created = await fetch(`${fleet.instances[2]!.url}/create`, { method: "POST", headers: { authorization: `Bearer ${key.text}`, "content-type": "application/json" }, body: JSON.stringify({ url: `https://late.${OTHER}/` }) });
    expect(created.status).toBe(201);
    expect((await adminCall("POST", "/api/admin/blocklist", { host: OTHER })).status).toBe(201);
    await Bun.sleep(BOUND_MS);
    for (const instance of fleet.instances) {
      const res = await fetch(`${instance.url}/create`, { method: "POST", headers: { authorization: `Bearer ${key.text}`, "content-type": "application/json" }, body: JSON.stringify({ url: `https://again.${OTHER}/` }) });
      expect([res.status, ((await res.json()) as { error: { code: string } }).error.code]).toEqual([400, "blocked-url"]);
      expect((await fetch(`${instance.url}/${((await created.clone().json()) as { short_code: string }).short_code}`, { redirect: "manual" })).status).toBe(451);
    }
  });
});
