import type { LinkRollup, StoredDimension } from "../../domain/click-dimensions";

/**
 * Rollups of several flushes added into one per link, so the shards are written once per
 * analytics interval instead of once per click flush: the rows written depend on how many links
 * and values were clicked in the interval, not on how often the clicks are flushed.
 *
 * @example
 *   acc.add(rollupsOfOneFlush); acc.add(rollupsOfTheNext);
 *   const merged = acc.drain(); // one LinkRollup per link, counts summed, visitors united
 */
export class RollupAccumulator {
  private links = new Map<string, { humans: number; bots: number; dims: Map<string, [StoredDimension, string, number, number]>; visitors: Set<string> }>();

  add(rollups: readonly LinkRollup[]): void {
    for (const r of rollups) {
      let entry = this.links.get(r.code);
      if (!entry) this.links.set(r.code, (entry = { humans: 0, bots: 0, dims: new Map(), visitors: new Set() }));
      entry.humans += r.humans;
      entry.bots += r.bots;
      for (const d of r.dims) {
        const key = `${d[0]}\u0000${d[1]}`;
        const row = entry.dims.get(key);
        if (row) {
          row[2] += d[2];
          row[3] += d[3];
        } else entry.dims.set(key, [d[0], d[1], d[2], d[3]]);
      }
      for (const v of r.visitors) entry.visitors.add(v);
    }
  }

  get size(): number {
    return this.links.size;
  }

  drain(): LinkRollup[] {
    const out = [...this.links].map(([code, e]) => ({ code, humans: e.humans, bots: e.bots, dims: [...e.dims.values()], visitors: [...e.visitors] }));
    this.links = new Map();
    return out;
  }
}
