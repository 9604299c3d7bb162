/**
 * Online re-sharding end to end, with real processes: three instances behind the real HAProxy on
 * a 3-shard cluster of their own, redirect and create load throughout. A 4th shard is added
 * (its nodes started, the instances rolled onto the new node lists, `bun run reshard add`) with
 * the mover SIGKILLed mid-copy and run again; then shard 1 is drained with one instance
 * SIGKILLed mid-copy and a target shard's Redis killed; then an add is aborted mid-copy. After all of it: no redirect failed,
 * every seeded and every acknowledged link resolves, dedupe still finds seeded URLs, and every
 * row lives on its ring owner only. Clicks of a set of links kept out of the load are counted
 * before and during the copy and still add up after every move. A key's links are listed and
 * exported exactly (each once, none missing) mid-copy, when rows sit on old and new owners.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { HashRing } from "../../src/domain/ring";
import { startNode, stopNode } from "../../scripts/cluster/index";
import { connect } from "../events/ws-client";
import { eventually } from "../../harness/eventually";
import { FLEET_ADMIN, seedLinks, startMixedLoad, startReshardFleet, type MixedLoad, type ReshardFleet } from "../../harness/reshard-fleet";
import { clusterEnvVars } from "../../scripts/cluster/index";
import { parseConfig } from "../../src/config";
import { MOVABLE_TABLES } from "../../src/storage/reshard-rows";
import { makeKey } from "../support/keys";

const SEEDED = 3000;
/** Seeded links the load leaves alone, so their click counts are known exactly. */
const CLICKED = 30;
/** The key's links clicked once each before any move, for its account stats. */
const OWNED_CLICKED = 20;
let fleet: ReshardFleet;
let seeded: Array<[string, string]> = [];
const acknowledged = new Map<string, string>();
const redirectFailures: string[] = [];
let redirects = 0;
let views: Array<Record<string, unknown>> = [];
let closeWatcher = () => {};
/** A key's own links (made before any move) and the key: its list and export must stay exact. */
let owner: { text: string };
const owned = new Set<string>();

/**
 * The key's export and its list (pages of 37) both hold exactly `owned`, each link once; its
 * account stats count the clicks of its clicked links exactly, each once (rows on old and new
 * owners mid-copy are one row).
 */
async function listedExactly(): Promise<void> {
  const headers = { authorization: `Bearer ${owner.text}` };
  const account = (await (await fetch(`${fleet.lb.url}/api/stats?limit=100`, { headers })).json()) as { total: number; humans: number; links: number; top_links: Array<{ code: string; clicks: number }>; dimensions: { browser: { items: Array<{ value: string; clicks: number }> } } };
  expect([account.total, account.humans, account.links]).toEqual([OWNED_CLICKED, OWNED_CLICKED, OWNED_CLICKED]);
  expect(new Set(account.top_links.map((l) => l.code))).toEqual(new Set([...owned].slice(0, OWNED_CLICKED)));
  expect(account.dimensions.browser.items).toEqual([{ value: "Chrome", clicks: OWNED_CLICKED, humans: OWNED_CLICKED }] as never);
  const exported = (await (await fetch(`${fleet.lb.url}/api/links/export`, { headers })).text()).split("\n").filter((l) => l !== "").map((l) => (JSON.parse(l) as { short_code: string }).short_code);
  const paged: string[] = [];
  let cursor: string | null = null;
  do {
    const page = (await (await fetch(`${fleet.lb.url}/api/links?limit=37${cursor ? `&cursor=${cursor}` : ""}`, { headers })).json()) as { links: Array<{ short_code: string }>; next_cursor: string | null };
    paged.push(...page.links.map((l) => l.short_code));
    cursor = page.next_cursor;
  } while (cursor !== null);
  for (const listing of [exported, paged]) {
    expect(listing.length).toBe(owned.size);
    expect(new Set(listing)).toEqual(owned);
  }
}

interface TopologyBody {
  version: number;
  phase: string;
  members: number[];
  target: number[] | null;
  instances: Array<{ instance: string; version: number; live: boolean }>;
  verify: { differences: number; pairs: Array<{ count: number; source_checksum: string; target_checksum: string }> } | null;
  cleanup: { deleted: number; kept: number } | null;
}

const BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

/** Redirects each of the click-checked links `times` times through HAProxy (so over every instance), as one person in Chrome. */
async function click(times: number): Promise<void> {
  for (let i = 0; i < times; i++) {
    await Promise.all(seeded.slice(0, CLICKED).map(async ([code]) => expect((await fetch(`${fleet.lb.url}/${code}`, { redirect: "manual", headers: { "user-agent": BROWSER } })).status).toBe(302)));
  }
}

/**
 * Waits until every click-checked link's stats count `expected` clicks, all of them human, all
 * in Chrome, from one visitor (two if the run crossed midnight UTC: the salt is per day), so
 * the analytics rows and sketches moved with the counts (clicks flush every 300 ms).
 */
async function clicksAre(expected: number): Promise<void> {
  let last: string[] = [];
  await eventually(
    async () => {
      last = await Promise.all(
        seeded.slice(0, CLICKED).map(async ([code]) => {
          const stats = (await (await fetch(`${fleet.lb.url}/api/links/${code}/stats`, { headers: FLEET_ADMIN })).json()) as { total: number; humans: number; unique_visitors: number };
          const browsers = (await (await fetch(`${fleet.lb.url}/api/links/${code}/stats/browser`, { headers: FLEET_ADMIN })).json()) as { items: Array<{ value: string; clicks: number }> };
          return `${stats.total}/${stats.humans}/${browsers.items.map((i) => `${i.value}:${i.clicks}`).join("+")}/${stats.unique_visitors}`;
        }),
      );
      return last.every((t) => t === `${expected}/${expected}/Chrome:${expected}/1` || t === `${expected}/${expected}/Chrome:${expected}/2`) ? true : undefined;
    },
    `every click-checked link to count ${expected} human Chrome clicks of one visitor (last, total/humans/browsers/uniques: ${last.join(", ")})`,
    10_000,
  );
}

const topology = async () => (await (await fetch(`${fleet.lb.url}/api/topology`)).json()) as TopologyBody;

async function underLoad<T>(run: () => Promise<T>): Promise<T> {
  const load: MixedLoad = startMixedLoad(fleet.lb.url, seeded.slice(CLICKED), { readers: 6, writers: 1, pauseMs: 10, maxMs: 120_000 });
  try {
    return await run();
  } finally {
    await load.stop();
    redirects += load.redirects;
    redirectFailures.push(...load.redirectFailures);
    for (const [code, url] of load.acknowledged) acknowledged.set(code, url);
  }
}

/** The catalog's copy checkpoints of the running migration, summed. */
async function copied(): Promise<{ scanned: number; done: number; rows: number }> {
  const [catalog] = fleet.primaries();
  const [row] = await catalog!<{ scanned: string; done: string; n: string }[]>`
    select coalesce(sum(scanned), 0)::text as scanned, count(*) filter (where done)::text as done, count(*)::text as n
    from reshard_checkpoints where step = 'copy' and migration_id = (select migration_id from topology where id = 1)`;
  return { scanned: Number(row!.scanned), done: Number(row!.done), rows: Number(row!.n) };
}

describe("online re-sharding under load (3 instances behind HAProxy)", () => {
  beforeAll(async () => {
    fleet = await startReshardFleet(`reshard-${process.pid}`, 3, [41, 42, 43]);
    seeded = await seedLinks(fleet.lb.url, SEEDED, 16, `seed-${process.pid}`);
    const parsed = parseConfig(clusterEnvVars(fleet.state));
    if (!parsed.ok) throw new Error(parsed.message);
    owner = await makeKey(parsed.config, "reshard-owner");
    const bulk = await fetch(`${fleet.lb.url}/api/links/bulk`, {
      method: "POST",
      headers: { authorization: `Bearer ${owner.text}`, "content-type": "application/json" },
      body: JSON.stringify({ links: Array.from({ length: 400 }, (_, i) => ({ url: `https://example.com/owned-${process.pid}/${i}` })) }),
    });
    for (const r of ((await bulk.json()) as { results: Array<{ short_code: string }> }).results) owned.add(r.short_code);
    expect(owned.size).toBe(400);
    await Promise.all([...owned].slice(0, OWNED_CLICKED).map(async (code) => expect((await fetch(`${fleet.lb.url}/${code}`, { redirect: "manual", headers: { "user-agent": BROWSER } })).status).toBe(302)));
    await eventually(async () => (((await (await fetch(`${fleet.lb.url}/api/stats`, { headers: { authorization: `Bearer ${owner.text}` } })).json()) as { total: number }).total === OWNED_CLICKED ? true : undefined), "the key's clicks to be flushed", 10_000);
  }, 180_000);

  afterAll(() => fleet?.stop(), 60_000);

  test("add a 4th shard: mover SIGKILLed mid-copy, run again, resumes from its checkpoints", async () => {
    expect((await topology()).members).toEqual([0, 1, 2]);
    await underLoad(async () => {
      await fleet.addShard();
      await fleet.rollingRestart();
      // The instances know shard 3 now but the ring does not use it until the mover says so.
      expect((await topology()).members).toEqual([0, 1, 2]);
      const watcher = await connect(`${fleet.instances[2]!.url.replace("http", "ws")}/ws?topics=topology`);
      closeWatcher = () => watcher.close();
      views = watcher.messages;

      await click(5);
      await clicksAre(5);
      const slow = fleet.mover(["add", "--rate", "1500", "--batch", "100", "--grace-ms", "500"]);
      await slow.waitFor(/ring v\d+: copy/);
      await listedExactly();
      // Mid-migration clicks are flushed to the new owners while older ones still sit on the old.
      await click(2);
      // Killed once the copy has saved a checkpoint, whatever the machine's speed.
      await eventually(async () => ((await copied()).scanned > 0 ? true : undefined), "the copy's first checkpoint", 30_000);
      slow.proc.kill("SIGKILL");
      await slow.exited;
      const midway = await copied();
      expect((await topology()).phase).toBe("copy");
      expect(midway.scanned).toBeGreaterThan(0);
      // 3 sources x every movable table: the copy was stopped before all of them were done.
      expect(midway.done).toBeLessThan(3 * MOVABLE_TABLES.length);

      const rerun = fleet.mover(["add", "--rate", "0", "--grace-ms", "500"]);
      expect(await rerun.exited, rerun.output()).toBe(0);
      expect(rerun.output()).toContain("resuming");
      expect(rerun.output()).toContain("0 difference(s)");
    });
    const after = await topology();
    expect(after).toMatchObject({ phase: "stable", members: [0, 1, 2, 3], target: null });
    await listedExactly();
    expect(after.verify!.differences).toBe(0);
    await clicksAre(7);
    for (const pair of after.verify!.pairs) expect(pair.target_checksum).toBe(pair.source_checksum);
    expect(after.instances.filter((i) => i.live).map((i) => i.version)).toEqual([after.version, after.version, after.version]);

    // The stream carried the same figures: the phases as they happened and the copy's progress.
    const pushed = views.filter((m) => m.kind === "topology") as unknown as Array<TopologyBody & { progress: Array<{ step: string; scanned: number; total: number }> }>;
    closeWatcher();
    expect(new Set(pushed.map((v) => v.phase))).toEqual(new Set(["prepare", "dual", "copy", "verify", "switch", "cleanup", "stable"]));
    // A fast copy can finish between two progress pushes: its figures then arrive with the next phase's view.
    expect(pushed.some((v) => v.progress.some((p) => p.step === "copy" && p.scanned > 0 && p.total > 0))).toBe(true);
    expect(pushed.at(-1)).toMatchObject({ phase: "stable", members: [0, 1, 2, 3] });
  }, 180_000);

  test("drain shard 1 with an instance SIGKILLed and a target shard's Redis killed mid-copy", async () => {
    await underLoad(async () => {
      const mover = fleet.mover(["drain", "1", "--rate", "6000", "--batch", "100", "--grace-ms", "500"]);
      await mover.waitFor(/ring v\d+: copy/);
      await listedExactly();
      fleet.kill(1);
      await stopNode(fleet.state, 2, "redis", "kill");
      // The mover stops waiting for a dead instance once its heartbeat is older than TOPOLOGY_LIVE_MS.
      await Bun.sleep(300);
      await fleet.restart(1, "SIGKILL");
      await startNode(fleet.state, 2, "redis");
      expect(await mover.exited, mover.output()).toBe(0);
    });
    expect(await topology()).toMatchObject({ phase: "stable", members: [0, 2, 3] });
    await listedExactly();
  }, 180_000);

  test("abort mid-copy: back to the old ring, links made meanwhile kept", async () => {
    await underLoad(async () => {
      const mover = fleet.mover(["add", "--rate", "800", "--batch", "100"]);
      await mover.waitFor(/ring v\d+: copy/);
      // Creates during dual go to the new ring's owners, shard 1 among them: the reverse copy must bring them back.
      await Bun.sleep(1000);
      mover.proc.kill("SIGKILL");
      await mover.exited;
      const abort = fleet.mover(["abort", "--rate", "0", "--grace-ms", "500"]);
      expect(await abort.exited, abort.output()).toBe(0);
      expect(abort.output()).toContain("aborting");
    });
    expect(await topology()).toMatchObject({ phase: "stable", members: [0, 2, 3] });
  }, 180_000);

  test("nothing was lost: every redirect answered, every link resolves, dedupe holds, rows sit on their owners", async () => {
    console.log(`re-sharding under load: ${redirects} redirects, ${redirectFailures.length} failed; ${acknowledged.size} creates acknowledged during the migrations`);
    // Three migrations later (add, drain, an aborted add), every click is still counted once.
    await clicksAre(7);
    expect(redirectFailures.slice(0, 10)).toEqual([]);
    expect(redirects).toBeGreaterThan(1000);
    expect(acknowledged.size).toBeGreaterThan(20);

    const all = [...seeded, ...acknowledged];
    const wrong: string[] = [];
    for (let i = 0; i < all.length; i += 50) {
      await Promise.all(
        all.slice(i, i + 50).map(async ([code, url]) => {
          const res = await fetch(`${fleet.lb.url}/${code}`, { redirect: "manual" });
          if (res.status !== 302 || res.headers.get("location") !== url) wrong.push(`${code}: ${res.status}`);
        }),
      );
    }
    expect(wrong).toEqual([]);

    const again = await Promise.all(
      seeded.slice(0, 300).map(async ([code, url]) => {
        const res = await fetch(`${fleet.lb.url}/create`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ url }) });
        const body = (await res.json()) as { short_code: string };
        return body.short_code === code ? "same" : `${url}: ${code} → ${body.short_code}`;
      }),
    );
    expect(again.filter((r) => r !== "same")).toEqual([]);

    const ring = new HashRing([0, 2, 3]);
    const misplaced: string[] = [];
    const primaries = fleet.primaries();
    for (const [shard, sql] of primaries.entries()) {
      for (const { code } of await sql<{ code: string }[]>`select code from links`) if (ring.shardFor(code) !== shard) misplaced.push(`links ${code} on ${shard}`);
      for (const { long_url } of await sql<{ long_url: string }[]>`select long_url from url_index`) if (ring.shardFor(long_url) !== shard) misplaced.push(`url_index ${long_url} on ${shard}`);
    }
    expect(misplaced.slice(0, 10)).toEqual([]);
    const [drained] = await primaries[1]!<{ n: string }[]>`select (select count(*) from links) + (select count(*) from url_index) as n`;
    expect(Number(drained!.n)).toBe(0);
  }, 120_000);
});
