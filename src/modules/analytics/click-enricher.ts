import { Piscina } from "piscina";
import type { PackedFacts } from "./click-log";
import type { LinkRollup } from "../../domain/click-dimensions";
import type { EnrichedClick } from "./click-rollup";

/**
 * The main thread's side of the analytics worker pool: one task per flush carrying every raw
 * fact of the interval, answered with the rollups per link (and a sample of enriched clicks for
 * the live stream). A round trip costs 100–200 µs, paid once per flush, never per click.
 *
 * @example
 *   const enricher = new ClickEnricher({ workerFile, threads: 1, geoFile, agentCacheSize: 10_000, trustedProxies: [] });
 *   const { links } = await enricher.enrich(log.drain(), salt, 0);
 */
export class ClickEnricher {
  private readonly pool: Piscina;

  constructor(private readonly options: { workerFile: string; threads: number; geoFile: string | null; agentCacheSize: number; trustedProxies: readonly string[] }) {
    this.pool = new Piscina({ filename: options.workerFile, minThreads: options.threads, maxThreads: options.threads, workerData: { geoFile: options.geoFile, agentCacheSize: options.agentCacheSize } });
    // A thread that fails with no task on it (at load: a missing database) would otherwise throw here.
    this.pool.on("error", () => {});
  }

  enrich(facts: PackedFacts, salt: string | null, sample: number): Promise<{ links: LinkRollup[]; sample: EnrichedClick[] }> {
    // The id buffers move to the worker (transferred, not copied); only the distinct strings are cloned.
    const task = { facts, salt, trustedProxies: [...this.options.trustedProxies], sample };
    return this.pool.run(task, { transferList: [facts.ids.buffer, facts.heads.buffer] as never });
  }

  close(): Promise<void> {
    return this.pool.destroy();
  }
}
