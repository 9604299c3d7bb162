import type { StoredDimension } from "../../domain/click-dimensions";
import { keepTop, topCounts } from "../../domain/ranking";

/** The dimensions the operator dashboard shows cluster-wide. */
const SHOWN: readonly StoredDimension[] = ["country", "referrer", "device"];
/** Distinct values remembered per dimension; past it the least clicked half is forgotten. */
const MAX_VALUES = 1000;

/** What one batch of enriched clicks adds to the audience: computed in the worker, small to send. */
export interface AudienceDelta {
  humans: number;
  bots: number;
  /** Per shown dimension, [value, clicks] of every value the batch saw. */
  values: Record<"country" | "referrer" | "device", Array<[string, number]>>;
}

export interface AudienceFigures {
  humans: number;
  bots: number;
  top: Record<"country" | "referrer" | "device", Array<{ value: string; clicks: number }>>;
}

/**
 * What this instance's enriched clicks add up to since it started: humans and bots, and the
 * values of the dashboard's dimensions by clicks. Fed each flush's delta (exact, not a sample:
 * the batch's sums, computed in the worker by rollUpInto); the cluster figures sum the instances'.
 *
 * @example
 *   audience.add({ humans: 100, bots: 31, values: { country: [["US", 80]], referrer: [], device: [] } });
 *   audience.figures(5); // { humans: 100, bots: 31, top: { country: [{ value: "US", clicks: 80 }], referrer: [], device: [] } }
 */
export class ClickAudience {
  private humans = 0;
  private bots = 0;
  private readonly values = new Map<StoredDimension, Map<string, number>>(SHOWN.map((d) => [d, new Map()]));

  add(delta: AudienceDelta): void {
    this.humans += delta.humans;
    this.bots += delta.bots;
    for (const [dimension, values] of Object.entries(delta.values) as Array<[StoredDimension, Array<[string, number]>]>) {
      const counts = this.values.get(dimension)!;
      for (const [value, clicks] of values) {
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
