import { Piscina } from "piscina";
import type { PackedFacts } from "./click-log";
import type { AudienceDelta } from "./click-audience";
import type { EnrichedClick } from "./click-rollup";
import type { HashRing } from "../../domain/ring";
import type { RollupColumns } from "../../storage/rollup-columns";

/** One shard's share of an interval's rollups, ready to write. */
export interface ShardRollups {
  shard: number;
  columns: RollupColumns;
}

/** One flush's enrichment: the rollups kept as the worker wrote them (JSON), to be merged there later. */
export interface EnrichedBatch {
  rollups: string;
  audience: AudienceDelta;
  sample: EnrichedClick[];
}

/**
 * The main thread's side of the analytics worker pool: one task per flush carrying every raw
 * fact of the interval, answered with that flush's rollups as one string, the audience it adds
 * and a sample of enriched clicks for the live stream; and, once per ANALYTICS_FLUSH_MS, one task
 * that merges the interval's rollups into one per link. Measured: receiving each flush's rollups
 * as objects and adding them up on the main thread cost cached redirects about 2 µs each; a
 * string crosses threads as one copy. A round trip costs 100–200 µs, paid per flush, never per click.
 *
 * @example
 *   const enricher = new ClickEnricher({ workerFile, threads: 1, geoFile, agentCacheSize: 10_000, trustedProxies: [] });
 *   const batch = await enricher.enrich(log.drain(), salt, 0);
 *   const perShard = await enricher.merge([batch.rollups], router.current.write);
 */
export class ClickEnricher {
  private readonly pool: Piscina;

  constructor(private readonly options: { workerFile: string; threads: number; geoFile: string | null; agentCacheSize: number; trustedProxies: readonly string[] }) {
    this.pool = new Piscina({ filename: options.workerFile, minThreads: options.threads, maxThreads: options.threads, workerData: { geoFile: options.geoFile, agentCacheSize: options.agentCacheSize } });
    // A thread that fails with no task on it (at load: a missing database) would otherwise throw here.
    this.pool.on("error", () => {});
  }

  enrich(facts: PackedFacts, salt: string | null, sample: number): Promise<EnrichedBatch> {
    // The id buffers move to the worker (transferred, not copied); only the distinct strings are cloned.
    const task = { kind: "enrich", facts, salt, trustedProxies: [...this.options.trustedProxies], sample };
    return this.pool.run(task, { transferList: [facts.ids.buffer, facts.flags.buffer] as never });
  }

  /**
   * Several flushes' rollups (as `enrich` returned them) added into one per link and split by
   * the owner of each link in `ring`, each shard's as the array texts its batch writes: with a
   * million links clicked, receiving objects, or even JSON of them, and serialising them for the
   * driver held the request thread for hundreds of milliseconds; a few strings per shard cross as
   * copies and go to PostgreSQL as they are.
   */
  merge(rollups: readonly string[], ring: HashRing): Promise<ShardRollups[]> {
    return this.pool.run({ kind: "merge", rollups, members: [...ring.members], vnodes: ring.vnodes });
  }

  close(): Promise<void> {
    return this.pool.destroy();
  }
}
