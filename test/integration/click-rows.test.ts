import { afterAll, describe, expect, test } from "bun:test";
import { applyClickBatch, clickRows, dimensionRows, pruneAnalytics, uniqueVisitors, visitorRows } from "../../src/storage/click-rows";
import { compactRollups } from "../../src/storage/rollup-compaction";
import { rollupColumns } from "../../src/storage/rollup-columns";
import fc from "fast-check";
import { ShardSet } from "../../src/storage/shard-set";
import { freshCode } from "../../harness/cluster";
import { clusterConfig } from "../../harness/system";

/** The click flush statement against a real primary: a batch counts once, however often it is sent. */
const config = clusterConfig();
const ALL = [new Date(0), new Date("9999-01-01")] as const;
const policy = { timeoutMs: 2000, retries: 0, breakAfter: 5, halfOpenAfterMs: 500 };
const shards = ShardSet.connect(config.shards, { redisPolicy: policy, dbPolicy: policy, dbPoolSize: 2 });
const primary = shards.at(1).primary;
afterAll(() => shards.close());

describe("applyClickBatch", () => {
  test("a retried batch (same id) adds nothing; a new batch adds to the same hour's row", async () => {
    const code = freshCode("k");
    const hour = new Date(Date.UTC(2026, 10, 30, 5));
    const batch = { id: `test:${crypto.randomUUID()}:0`, instance: "instance-t", home: 1, epoch: 3, hour, counts: new Map([[code, 4]]), rollups: null };
    expect(await applyClickBatch(primary, batch)).toBe(true);
    expect(await applyClickBatch(primary, batch)).toBe(false);
    expect(await applyClickBatch(primary, { ...batch, id: `${batch.id}-next`, counts: new Map([[code, 3]]) })).toBe(true);
    const rows = await clickRows(primary, [code], ...ALL);
    expect(rows.map((r) => [r.hour.toISOString(), r.instance, r.home, r.epoch, r.clicks])).toEqual([[hour.toISOString(), "instance-t", 1, 3, 7]]);
  });

  test("a batch's rollups land with its counts, once: humans and bots, dimension rows, and visitors united however often they are added", async () => {
    const code = freshCode("k");
    const hour = new Date(Date.UTC(2026, 10, 30, 6));
    const rollup = { code, humans: 3, bots: 1, dims: [["country", "US", 3, 2], ["country", "DE", 1, 1]] as Array<["country", string, number, number]>, visitors: ["1", "2", "-3"] };
    const batch = { id: `test:${crypto.randomUUID()}:0`, instance: "instance-t", home: 1, epoch: 3, hour, counts: new Map([[code, 5]]), rollups: rollupColumns([rollup]) };
    expect(await applyClickBatch(primary, batch)).toBe(true);
    expect(await applyClickBatch(primary, batch)).toBe(false);
    // Another instance saw visitor 2 again and a new one: the union has four.
    await applyClickBatch(primary, { ...batch, id: `${batch.id}-b`, instance: "instance-u", counts: new Map([[code, 2]]), rollups: rollupColumns([{ ...rollup, humans: 2, bots: 0, dims: [["country", "US", 2, 2]], visitors: ["2", "4"] }]) });
    const rows = await clickRows(primary, [code], ...ALL);
    expect(rows.map((r) => [r.instance, r.clicks, r.humans, r.bots]).sort()).toEqual([["instance-t", 5, 3, 1], ["instance-u", 2, 2, 0]]);
    const dims = await dimensionRows(primary, code, "country", ...ALL);
    // Both instances add into one row per value.
    expect(dims.map((d) => [d.value, d.clicks, d.humans]).sort()).toEqual([["DE", 1, 1], ["US", 5, 4]]);
    const sketches = await visitorRows(primary, code, ...ALL);
    expect(sketches).toHaveLength(1);
    const uniques = await uniqueVisitors(primary, [...sketches, ...sketches], "day");
    expect(uniques.total).toBe(4);
    expect([...uniques.buckets]).toEqual([["2026-11-30T00:00:00.000Z", 4]]);
  });

  test("property: any dimension value (quotes, backslashes, commas, braces, NULL, spaces, empty, any script) is stored exactly as given", async () => {
    const hour = new Date(Date.UTC(2026, 10, 30, 7));
    const value = fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom("NULL", "null", "", " ", "{}", "a,b", '"', "\\", '\\"', "{\"x\"}", "日本語", "Ünïcödé 🙂"));
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(value.filter((v) => !v.includes("\u0000")), { minLength: 1, maxLength: 8 }), async (values) => {
        const code = freshCode("k");
        const dims = values.map((v, i) => ["referrer", v, i + 1, i] as ["referrer", string, number, number]);
        await applyClickBatch(primary, { id: `test:${crypto.randomUUID()}`, instance: "instance-t", home: 1, epoch: 3, hour, counts: new Map([[code, values.length]]), rollups: rollupColumns([{ code, humans: 1, bots: 0, dims, visitors: [] }]) });
        const stored = await dimensionRows(primary, code, "referrer", ...ALL);
        expect(stored.map((d) => [d.value, d.clicks, d.humans]).sort()).toEqual(dims.map((d) => [d[1], d[2], d[3]]).sort());
      }),
      { numRuns: 40 },
    );
  });

  test("retention: breakdowns and sketches older than the retention go, recent ones and every click count stay", async () => {
    const code = freshCode("k");
    const old = new Date(Math.floor((Date.now() - 500 * 86_400_000) / 3_600_000) * 3_600_000);
    const recent = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000);
    const rollup = { code, humans: 1, bots: 0, dims: [["os", "Linux", 1, 1]] as Array<["os", string, number, number]>, visitors: ["7"] };
    for (const hour of [old, recent]) await applyClickBatch(primary, { id: `test:${crypto.randomUUID()}`, instance: "instance-t", home: 1, epoch: 3, hour, counts: new Map([[code, 1]]), rollups: rollupColumns([rollup]) });
    await pruneAnalytics(primary, 400);
    expect((await clickRows(primary, [code], ...ALL)).map((r) => r.hour.toISOString()).sort()).toEqual([old.toISOString(), recent.toISOString()]);
    expect((await dimensionRows(primary, code, "os", ...ALL)).length).toBe(1);
    expect((await visitorRows(primary, code, ...ALL)).map((r) => r.hour.toISOString())).toEqual([recent.toISOString()]);
  });

  test("compaction: hours older than the cutoff fold into their day's 00:00 row (sums added, sketches united, per instance), newer hours stay, and a second run changes nothing", async () => {
    const code = freshCode("k");
    const day = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate()) - 40 * 86_400_000;
    const recent = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000);
    const apply = (hour: Date, instance: string, n: number, visitors: string[]) =>
      applyClickBatch(primary, {
        id: `test:${crypto.randomUUID()}`,
        instance,
        home: 1,
        epoch: 3,
        hour,
        counts: new Map([[code, n]]),
        rollups: rollupColumns([{ code, humans: n - 1, bots: 1, dims: [["os", "Linux", n, n - 1]], visitors }]),
      });
    await apply(new Date(day), "instance-a", 2, ["1"]);
    await apply(new Date(day + 5 * 3_600_000), "instance-a", 3, ["1", "2"]);
    await apply(new Date(day + 23 * 3_600_000), "instance-b", 4, ["3"]);
    await apply(recent, "instance-a", 5, ["4"]);
    const before = await clickRows(primary, [code], ...ALL);
    await compactRollups(primary, 31);
    const rows = (await clickRows(primary, [code], ...ALL)).map((r) => [r.hour.getTime(), r.instance, r.clicks, r.humans, r.bots]).sort();
    expect(rows).toEqual([
      [day, "instance-a", 5, 3, 2],
      [day, "instance-b", 4, 3, 1],
      [recent.getTime(), "instance-a", 5, 4, 1],
    ].sort() as never);
    const sum = (list: Array<{ clicks: number }>) => list.reduce((n, r) => n + r.clicks, 0);
    expect(sum(await clickRows(primary, [code], ...ALL))).toBe(sum(before));
    expect((await dimensionRows(primary, code, "os", ...ALL)).map((d) => [d.clicks, d.humans]).sort()).toEqual([[5, 4], [9, 6]]);
    const sketches = await visitorRows(primary, code, ...ALL);
    expect(sketches.map((v) => v.hour.getTime()).sort()).toEqual([day, recent.getTime()]);
    expect((await uniqueVisitors(primary, sketches.filter((v) => v.hour.getTime() === day), "day")).total).toBe(3);
    await compactRollups(primary, 31);
    expect((await clickRows(primary, [code], ...ALL)).map((r) => [r.hour.getTime(), r.instance, r.clicks, r.humans, r.bots]).sort()).toEqual(rows);
  });
});
