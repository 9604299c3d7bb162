/**
 * Paces the mover to at most `rowsPerSecond` scanned rows across all its scans, so serving
 * traffic keeps priority on the shards it reads and writes. Infinity turns it off.
 */
export class Throttle {
  private next = 0;

  constructor(private readonly rowsPerSecond: number) {}

  async take(rows: number): Promise<void> {
    if (!Number.isFinite(this.rowsPerSecond)) return;
    const now = performance.now();
    const start = Math.max(now, this.next);
    this.next = start + (rows * 1000) / this.rowsPerSecond;
    if (start > now) await Bun.sleep(start - now);
  }
}
