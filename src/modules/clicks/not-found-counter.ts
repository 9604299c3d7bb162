/**
 * Requests for codes that do not exist, counted on this instance: the total and the paths asked
 * for most, for admins (a prober walking the Snowflake space shows up here). Bounded: past
 * `maxPaths` distinct paths the least asked half is forgotten, so probing cannot grow it. A Map
 * increment on the 404 path, nothing stored anywhere else.
 *
 * @example
 *   notFound.record("abcdefghij");
 *   notFound.figures(10); // { total: 1, top: [{ path: "abcdefghij", requests: 1 }] }
 */
export class NotFoundCounter {
  private total = 0;
  private readonly paths = new Map<string, number>();

  constructor(private readonly maxPaths = 1000) {}

  record(path: string): void {
    this.total++;
    const key = path.slice(0, 64);
    this.paths.set(key, (this.paths.get(key) ?? 0) + 1);
    if (this.paths.size > this.maxPaths) {
      const kept = [...this.paths].sort((a, b) => b[1] - a[1]).slice(0, this.maxPaths / 2);
      this.paths.clear();
      for (const [p, n] of kept) this.paths.set(p, n);
    }
  }

  figures(n: number): { total: number; top: Array<{ path: string; requests: number }> } {
    const top = [...this.paths].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, n);
    return { total: this.total, top: top.map(([path, requests]) => ({ path, requests })) };
  }
}
