/**
 * The most recent `size` items of a stream, and how many went by since the last take: a live
 * view's share of a stream too fast to show. offer() is one store into a ring, so what is offered
 * can be a recipe that is only made into the real thing at take().
 *
 * @example
 *   const sample = new RecentSample<string>(2);
 *   sample.offer("a"); sample.offer("b"); sample.offer("c");
 *   sample.take(); // { items: ["b", "c"], seen: 3 }
 */
export class RecentSample<T> {
  private readonly ring: Array<T | undefined>;
  private next = 0;
  private seen = 0;

  constructor(private readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`sample size must be a positive integer, got ${size}`);
    this.ring = new Array<T | undefined>(size);
  }

  offer(item: T): void {
    this.ring[this.next] = item;
    this.next = this.next + 1 === this.size ? 0 : this.next + 1;
    this.seen++;
  }

  /** The kept items, oldest first, and how many were offered in all; the sample starts empty again. */
  take(): { items: T[]; seen: number } {
    const kept = Math.min(this.seen, this.size);
    const items: T[] = [];
    for (let i = kept; i > 0; i--) items.push(this.ring[(this.next - i + this.size) % this.size] as T);
    const seen = this.seen;
    this.ring.fill(undefined);
    this.next = 0;
    this.seen = 0;
    return { items, seen };
  }
}
