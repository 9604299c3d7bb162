/**
 * Counts ranked the same way everywhere a top list is shown or kept: highest first, ties by name,
 * so every instance (and the cluster's sum of them) lists equal counts in one order.
 *
 * @example topCounts(new Map([["b", 2], ["a", 2], ["c", 5]]), 2); // [["c", 5], ["a", 2]]
 */
export function topCounts(counts: Iterable<[string, number]>, n: number): Array<[string, number]> {
  return [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).slice(0, n);
}

/** Keeps only the `keep` most counted entries of `counts`: a bound that what clients send cannot grow. */
export function keepTop(counts: Map<string, number>, keep: number): void {
  const kept = topCounts(counts, keep);
  counts.clear();
  for (const [name, n] of kept) counts.set(name, n);
}

/** Adds lists of counts up by name (instances' top lists into the cluster's). */
export function sumCounts(lists: Iterable<Iterable<[string, number]>>): Map<string, number> {
  const sums = new Map<string, number>();
  for (const list of lists) for (const [name, n] of list) sums.set(name, (sums.get(name) ?? 0) + n);
  return sums;
}

export interface RankedItem {
  value: string;
  clicks: number;
  humans: number;
}

/** A breakdown's first `limit` values by clicks (then humans, then name), and the rest summed. */
export function rankItems(items: RankedItem[], limit: number): { items: RankedItem[]; other: { clicks: number; humans: number } } {
  const sorted = [...items].sort((a, b) => b.clicks - a.clicks || b.humans - a.humans || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
  const rest = sorted.slice(limit);
  return { items: sorted.slice(0, limit), other: { clicks: rest.reduce((n, i) => n + i.clicks, 0), humans: rest.reduce((n, i) => n + i.humans, 0) } };
}
