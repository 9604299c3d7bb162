import { setPriority } from "node:os";
import { workerData } from "node:worker_threads";
import { countryLookup } from "../src/modules/analytics/country-lookup";
import type { PackedFacts } from "../src/modules/analytics/click-log";
import type { LinkRollup } from "../src/domain/click-dimensions";
import { audienceOf } from "../src/modules/analytics/click-audience";
import type { EnrichedBatch, ShardRollups } from "../src/modules/analytics/click-enricher";
import { ringFor } from "../src/domain/ring";
import { rollupColumns } from "../src/storage/rollup-columns";
import { rollUp, RollupMemo } from "../src/modules/analytics/click-rollup";
import { RollupAccumulator } from "../src/modules/analytics/rollup-accumulator";
import { UserAgents } from "../src/modules/analytics/user-agent";

/**
 * piscina worker: enriches a flush's raw click facts (user agent, country, bot, visitor id) and
 * sums them per link, off the request thread; merges several flushes' sums when they are written. The country database (an MMDB shipped in an npm
 * package) is read once per thread; the user agents seen most stay parsed between batches.
 */
export type AnalyticsTask =
  | { kind: "enrich"; facts: PackedFacts; salt: string | null; trustedProxies: string[]; sample: number }
  /** Rollups of several flushes, as enrich returned them, added up and split by the ring's owner of each link. */
  | { kind: "merge"; rollups: string[]; members: number[]; vnodes: number };

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
  if (!process.env.ANALYTICS_NO_NICE) setPriority(0, 19);
} catch {
  // Not permitted here: enrichment runs at normal priority.
}
const agents = new UserAgents(setup.agentCacheSize);
const memo = new RollupMemo(setup.agentCacheSize * 5);
const country = setup.geoFile ? countryLookup(setup.geoFile) : () => null;

export default function run(task: AnalyticsTask): EnrichedBatch | ShardRollups[] {
  if (task.kind === "merge") {
    const merged = new RollupAccumulator();
    for (const rollups of task.rollups) merged.add(JSON.parse(rollups) as LinkRollup[]);
    const ring = ringFor(task.members, task.vnodes);
    const byShard = new Map<number, LinkRollup[]>();
    for (const link of merged.drain()) {
      const shard = ring.shardFor(link.code);
      const list = byShard.get(shard);
      if (list === undefined) byShard.set(shard, [link]);
      else list.push(link);
    }
    return [...byShard].map(([shard, links]) => ({ shard, columns: rollupColumns(links) }));
  }
  const { links, sample } = rollUp(task.facts, { agents, country, memo, trustedProxies: task.trustedProxies, salt: task.salt, sample: task.sample });
  return { rollups: JSON.stringify(links), audience: audienceOf(links), sample };
}
