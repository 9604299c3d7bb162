import type { LinkRollup, StoredDimension } from "../../domain/click-dimensions";
import { keepTop, topCounts } from "../../domain/ranking";

/** The dimensions the operator dashboard shows cluster-wide. */
const SHOWN: readonly StoredDimension[] = ["country", "referrer", "device"];
/** Distinct values remembered per dimension; past it the least clicked half is forgotten. */
const MAX_VALUES = 1000;

export interface AudienceFigures {
  humans: number;
  bots: number;
  top: Record<"country" | "referrer" | "device", Array<{ value: string; clicks: number }>>;
}

/**
 * What this instance's enriched clicks add up to since it started: humans and bots, and the
 * values of the dashboard's dimensions by clicks. Fed the rollups of every flush (exact, not a
 * sample); the cluster figures sum the instances'.
 *
 * @example
 *   audience.add(rollups);
 *   audience.figures(5); // { humans: 120, bots: 31, top: { country: [{ value: "US", clicks: 80 }, …], … } }
 */
export class ClickAudience {
  private humans = 0;
  private bots = 0;
  private readonly values = new Map<StoredDimension, Map<string, number>>(SHOWN.map((d) => [d, new Map()]));

  add(rollups: readonly LinkRollup[]): void {
    for (const link of rollups) {
      this.humans += link.humans;
      this.bots += link.bots;
      for (const [dimension, value, clicks] of link.dims) {
        const counts = this.values.get(dimension);
        if (!counts) continue;
        counts.set(value, (counts.get(value) ?? 0) + clicks);
        if (counts.size > MAX_VALUES) keepTop(counts, MAX_VALUES / 2);
      }
    }
  }

  figures(n: number): AudienceFigures {
    const top = (d: StoredDimension) => topCounts(this.values.get(d)!, n).map(([value, clicks]) => ({ value, clicks }));
    return { humans: this.humans, bots: this.bots, top: { country: top("country"), referrer: top("referrer"), device: top("device") } };
  }
}
