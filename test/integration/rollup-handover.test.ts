/**
 * The analytics hand-over in chunks, with the real worker pool: several flushes' rollups merged
 * in the worker come back as JSON texts of at most `chunkLinks` links each, every link in exactly
 * one chunk, with the clicks of every flush added up.
 */
import { afterAll, expect, test } from "bun:test";
import { ANALYTICS_WORKER_FILE } from "../../src/composition/paths";
import type { LinkRollup } from "../../src/domain/click-dimensions";
import { ClickEnricher } from "../../src/modules/analytics/click-enricher";
import { ClickLog } from "../../src/modules/analytics/click-log";

const enricher = new ClickEnricher({ workerFile: ANALYTICS_WORKER_FILE, threads: 1, geoFile: null, agentCacheSize: 100, trustedProxies: [] });
afterAll(() => enricher.close());

test("5,000 links over two flushes come back as 3 chunks of at most 2,000 links, each link once, its clicks summed", async () => {
  const links = 5000;
  const flush = async (clicksOf: (i: number) => number) => {
    const log = new ClickLog(100_000);
    for (let i = 0; i < links; i++) {
      for (let k = 0; k < clicksOf(i); k++) log.append(`c${i}`, null, `10.0.${i % 250}.${k + 1}`, new Headers({ "user-agent": k % 2 ? "curl/8.0" : "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0" }), false);
    }
    return (await enricher.enrich(log.drain(), null, 0)).rollups;
  };
  const first = await flush((i) => 1 + (i % 3));
  const second = await flush((i) => (i % 2 === 0 ? 1 : 0));
  const chunks = await enricher.merge([first, second], 2000);
  const parsed = chunks.map((chunk) => JSON.parse(chunk) as LinkRollup[]);
  expect(parsed.map((c) => c.length)).toEqual([2000, 2000, 1000]);
  const byCode = new Map(parsed.flat().map((l) => [l.code, l]));
  expect(byCode.size).toBe(links);
  for (let i = 0; i < links; i++) {
    const l = byCode.get(`c${i}`)!;
    expect(l.humans + l.bots).toBe(1 + (i % 3) + (i % 2 === 0 ? 1 : 0));
  }
});
