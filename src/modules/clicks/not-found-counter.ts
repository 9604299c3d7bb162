import { keepTop, topCounts } from "../../domain/ranking";

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
    if (this.paths.size > this.maxPaths) keepTop(this.paths, this.maxPaths / 2);
  }

  figures(n: number): { total: number; top: Array<{ path: string; requests: number }> } {
    return { total: this.total, top: topCounts(this.paths, n).map(([path, requests]) => ({ path, requests })) };
  }
}
