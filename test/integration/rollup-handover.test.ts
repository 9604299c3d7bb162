/**
 * The analytics hand-over with the real worker threads: several flushes' rollups, added up on
 * the threads that made them, come back split by shard, by the ring they were asked for, as the
 * array texts the shard's batch writes: every link in exactly one shard, the ring's owner, with
 * the clicks of every flush added up, whichever thread enriched it.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { ANALYTICS_WORKER_FILE } from "../../src/composition/paths";
import { HashRing } from "../../src/domain/ring";
import { ClickEnricher } from "../../src/modules/analytics/click-enricher";
import { ClickLog } from "../../src/modules/analytics/click-log";
import { ClickAnalytics } from "../../src/modules/analytics/click-analytics";

const enrichers = [1, 2].map((threads) => new ClickEnricher({ workerFile: ANALYTICS_WORKER_FILE, threads, geoFile: null, agentCacheSize: 100, trustedProxies: [] }));
afterAll(() => Promise.all(enrichers.map((e) => e.close())));

describe.each([1, 2])("%d worker thread(s)", (threads) => {
  const enricher = enrichers[threads - 1]!;
  test("5,000 links over three flushes come back split by the ring's owner, each link once, its clicks summed; then nothing is left", async () => {
    const links = 5000;
    const flush = async (clicksOf: (i: number) => number) => {
      const log = new ClickLog(100_000);
      for (let i = 0; i < links; i++) {
        for (let k = 0; k < clicksOf(i); k++) log.append(`c${i}`, null, `10.0.${i % 250}.${k + 1}`, new Headers({ "user-agent": k % 2 ? "curl/8.0" : "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0" }), 0);
      }
      await enricher.enrich(log.drain(), null, 0);
    };
    await flush((i) => 1 + (i % 3));
    await flush((i) => (i % 2 === 0 ? 1 : 0));
    await flush((i) => (i % 5 === 0 ? 2 : 0));
    const ring = new HashRing([0, 2, 5]);
    const { perShard, clicks } = await enricher.handOver(ring);
    expect(perShard.map((s) => s.shard).sort()).toEqual([0, 2, 5]);
    const seen = new Map<string, number>();
    for (const { shard, columns } of perShard) {
      const codes = JSON.parse(`[${columns.codes}]`) as string[];
      const humans = JSON.parse(`[${columns.humans}]`) as number[];
      const bots = JSON.parse(`[${columns.bots}]`) as number[];
      expect([codes.length, humans.length, bots.length]).toEqual([columns.links, columns.links, columns.links]);
      codes.forEach((code, i) => {
        expect(ring.shardFor(code)).toBe(shard);
        expect(seen.has(code)).toBe(false);
        seen.set(code, humans[i]! + bots[i]!);
      });
      const dimCodes = JSON.parse(`[${columns.dimCodes}]`) as string[];
      expect(dimCodes.length).toBe(columns.dimRows);
      expect(dimCodes.every((code) => ring.shardFor(code) === shard)).toBe(true);
    }
    expect(seen.size).toBe(links);
    const expected = (i: number) => 1 + (i % 3) + (i % 2 === 0 ? 1 : 0) + (i % 5 === 0 ? 2 : 0);
    for (let i = 0; i < links; i++) expect(seen.get(`c${i}`)).toBe(expected(i));
    expect(clicks).toBe(Array.from({ length: links }, (_, i) => expected(i)).reduce((a, b) => a + b, 0));
    expect(await enricher.handOver(ring)).toEqual({ perShard: [], clicks: 0 });
  });
});

test("a thread that holds maxLinks links hands the rollups over ahead of the interval, so a long tail of links cannot grow the worker without bound", async () => {
  const log = new ClickLog(10_000);
  const errors: Error[] = [];
  const analytics = new ClickAnalytics({
    log,
    enricher: new ClickEnricher({ workerFile: ANALYTICS_WORKER_FILE, threads: 1, geoFile: null, agentCacheSize: 100, trustedProxies: [] }),
    salt: null,
    listening: () => false,
    onCounted: () => {},
    onClicks: () => {},
    streamMax: 0,
    intervalMs: 600_000,
    maxLinks: 50,
    onError: (error) => errors.push(error),
  });
  try {
    const ring = new HashRing([0, 1]);
    const click = (code: string) => log.append(code, null, "10.0.0.1", new Headers({ "user-agent": "curl/8.0" }), 0);
    const t0 = 1_000_000;
    // The first flush opens the interval.
    expect(await analytics.take(t0, ring)).toEqual([]);
    for (let i = 0; i < 40; i++) click(`a${i}`);
    expect(await analytics.take(t0 + 1000, ring)).toEqual([]);
    for (let i = 0; i < 20; i++) click(`b${i}`);
    click("a0");
    const handed = await analytics.take(t0 + 2000, ring);
    expect(handed.reduce((n, s) => n + s.columns.links, 0)).toBe(60);
    // The count starts again: the next links wait for the interval or the cap.
    click("c0");
    expect(await analytics.take(t0 + 3000, ring)).toEqual([]);
    const last = await analytics.take(t0 + 4000, ring, true);
    expect(last.reduce((n, s) => n + s.columns.links, 0)).toBe(1);
    expect(analytics.figures).toEqual({ enriched: 62, unenriched: 0 });
    expect(errors).toEqual([]);
  } finally {
    await analytics.close();
  }
});
