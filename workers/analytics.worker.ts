import { setPriority } from "node:os";
import { workerData } from "node:worker_threads";
import { countryLookup } from "../src/modules/analytics/country-lookup";
import type { PackedFacts } from "../src/modules/analytics/click-log";
import type { LinkRollup } from "../src/domain/click-dimensions";
import type { EnrichedBatch, HandedOver } from "../src/modules/analytics/click-enricher";
import { ringFor } from "../src/domain/ring";
import { rollupColumns } from "../src/storage/rollup-columns";
import { rollUpInto, RollupMemo } from "../src/modules/analytics/click-rollup";
import { IntervalRollup } from "../src/modules/analytics/interval-rollup";
import { UserAgents } from "../src/modules/analytics/user-agent";

/**
 * piscina worker: enriches a flush's raw click facts (user agent, country, bot, visitor id) and
 * adds them up per link, off the request thread, into this thread's rollups of the interval;
 * hands them over, split by shard, once per ANALYTICS_FLUSH_MS. The country database (an MMDB
 * shipped in an npm package) is read once per thread; the user agents seen most stay parsed
 * between batches. Each thread is a pool of its own (click-enricher.ts), so the rollups stay
 * where they were made until the hand-over.
 */
export type AnalyticsTask =
  | { kind: "enrich"; facts: PackedFacts; salt: string | null; trustedProxies: string[]; sample: number }
  /** This thread's rollups of the interval as JSON, for the thread that hands over (several threads). */
  | { kind: "drain" }
  /** This thread's rollups and `others` (the other threads' drains) added up and split by the ring's owner of each link. */
  | { kind: "handOver"; others: string[]; members: number[]; vnodes: number };

export interface AnalyticsWorkerData {
  /** The MMDB file; null when ANALYTICS_GEO is off. */
  geoFile: string | null;
  agentCacheSize: number;
}

const setup = workerData as AnalyticsWorkerData;
// Lowest CPU priority for this thread only (Linux keeps a nice value per thread): enrichment takes
// the time redirects leave idle, and on a saturated machine it falls behind (its log then sheds
// details, counted as unenriched) instead of slowing the redirects down.
try {
  setPriority(0, 19);
} catch {
  // Not permitted here: enrichment runs at normal priority.
}
const agents = new UserAgents(setup.agentCacheSize);
const MEMO_SIZE = setup.agentCacheSize * 5;
const memo = new RollupMemo(MEMO_SIZE);
// The addresses seen recently keep their answers: the same clients come back flush after flush.
const country = setup.geoFile ? countryLookup(setup.geoFile, MEMO_SIZE) : () => null;

/** The interval's rollups made on this thread, not yet handed over. */
const interval = new IntervalRollup();

export default function run(task: AnalyticsTask): EnrichedBatch | string | HandedOver {
  if (task.kind === "drain") return JSON.stringify(interval.drain());
  if (task.kind === "handOver") {
    for (const rollups of task.others) interval.absorb(JSON.parse(rollups) as LinkRollup[]);
    const links = interval.drain();
    const ring = ringFor(task.members, task.vnodes);
    const byShard = new Map<number, LinkRollup[]>();
    for (const link of links) {
      const shard = ring.shardFor(link.code);
      const list = byShard.get(shard);
      if (list === undefined) byShard.set(shard, [link]);
      else list.push(link);
    }
    return { perShard: [...byShard].map(([shard, links]) => ({ shard, columns: rollupColumns(links) })), clicks: clicksOf(links) };
  }
  const { audience, sample } = rollUpInto(interval, task.facts, { agents, country, memo, trustedProxies: task.trustedProxies, salt: task.salt, sample: task.sample });
  return { audience, sample, links: interval.size };
}

const clicksOf = (links: readonly LinkRollup[]) => links.reduce((n, link) => n + link.humans + link.bots, 0);
