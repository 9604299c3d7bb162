/**
 * Clicks counted on the redirect path: one Map increment, no clock read, no I/O (with click
 * analytics on, the click log counts them instead and hands them over at each drain). The flusher
 * takes the counts every interval (`drain`) and stamps them with the hour of the flush, so a
 * click is filed at most one flush interval late (an hour boundary can shift a click by that).
 * It also keeps the figures the dashboard shows: clicks per second and the top links.
 *
 * @example
 *   counter.record("aB3x9");
 *   const counts = counter.drain();   // Map { "aB3x9" => 1 }
 */
export class ClickCounter {
  private pending = new Map<string, number>();
  private total = 0;
  /** Recent counts per code, for the top list; halved every window so old fame fades. */
  private recent = new Map<string, number>();
  private lastRateAt = 0;
  private lastRateTotal = 0;
  private rate = 0;

  private readonly topSize: number;
  private readonly maxRecent: number;
  private readonly logged: () => number;

  /** `logged`: clicks the click log holds, counted but not yet handed over (`add`): they are in `counted` at once. */
  constructor(options: { topSize?: number; maxRecent?: number; logged?: () => number } = {}) {
    this.topSize = options.topSize ?? 10;
    this.maxRecent = options.maxRecent ?? 10_000;
    this.logged = options.logged ?? (() => 0);
  }

  record(code: string): void {
    this.add(code, 1);
  }

  /** `n` clicks on `code` at once: those the click log counted since its last drain. */
  add(code: string, n: number): void {
    this.pending.set(code, (this.pending.get(code) ?? 0) + n);
    this.total += n;
  }

  /** Everything counted since the last drain; the counter starts again from empty. */
  drain(): Map<string, number> {
    const counts = this.pending;
    this.pending = new Map();
    for (const [code, n] of counts) this.recent.set(code, (this.recent.get(code) ?? 0) + n);
    return counts;
  }

  /** Clicks counted by this instance since it started. */
  get counted(): number {
    return this.total + this.logged();
  }

  /** Clicks per second over the time since the previous call; `now` in ms. Also ages the top list. */
  tick(now: number): void {
    const total = this.counted;
    if (this.lastRateAt > 0 && now > this.lastRateAt) this.rate = ((total - this.lastRateTotal) * 1000) / (now - this.lastRateAt);
    this.lastRateAt = now;
    this.lastRateTotal = total;
    for (const [code, n] of this.recent) {
      const aged = n / 2;
      if (aged < 0.5) this.recent.delete(code);
      else this.recent.set(code, aged);
    }
    if (this.recent.size > this.maxRecent) this.trimRecent(this.maxRecent);
  }

  /**
   * Keeps the `max` most clicked. Under traffic spread over many links (Zipf, or uniform over a
   * million) the map passes `max` every tick; sorting its entries with a comparator and
   * rebuilding it held the event loop for milliseconds each second. The cut-off comes from a
   * numeric typed-array sort instead, and entries go in one pass (ties at the cut-off in a
   * second one, until exactly `max` are left).
   */
  private trimRecent(max: number): void {
    const values = Float64Array.from(this.recent.values()).sort();
    const cutoff = values[values.length - max]!;
    for (const [code, n] of this.recent) if (n < cutoff) this.recent.delete(code);
    for (const [code, n] of this.recent) {
      if (this.recent.size <= max) break;
      if (n === cutoff) this.recent.delete(code);
    }
  }

  get perSecond(): number {
    return Math.round(this.rate * 10) / 10;
  }

  /** The codes with the most recent clicks, highest first. */
  top(n = this.topSize): Array<{ code: string; clicks: number }> {
    return [...this.recent].sort((a, b) => b[1] - a[1]).slice(0, n).map(([code, clicks]) => ({ code, clicks: Math.round(clicks) }));
  }
}
