import { DIMENSIONS, type Dimension } from "../../domain/click-dimensions";
import { ownersOf, shardsToScan } from "../../domain/topology";
import { bucketTotals, dimensionTotals, linkTotals, visitorSketches, type AccountFilter, type LinkTotal } from "../../storage/account-click-rows";
import { allDimensionRows, clickRows, uniqueVisitors } from "../../storage/click-rows";
import type { ShardSet } from "../../storage/shard-set";
import type { RingRouter } from "../../topology/ring-router";
import { rankItems, type RankedItem } from "../../domain/ranking";
import { bucketOf, onceEach, type Granularity, type StatsRange } from "./click-stats";

interface Counts {
  clicks: number;
  humans: number;
  bots: number;
}

type Item = RankedItem;

export interface AccountStats {
  scope: "key" | "cluster";
  total: number;
  humans: number;
  bots: number;
  unclassified: number;
  /** Distinct human visitors over all the links together (one person on three links is one). */
  unique_visitors: number;
  /** Links with at least one click in the range. */
  links: number;
  granularity: Granularity;
  from: string;
  to: string;
  series: Array<{ at: string; unique_visitors: number } & Counts>;
  top_links: Array<{ code: string } & Counts>;
  dimensions: Record<Dimension, { items: Item[]; other: { clicks: number; humans: number } }>;
}

/**
 * Many links' clicks together: one key's links, or (for an admin) every link of the cluster.
 * Each shard adds up its own rows, so what crosses the network is sums, not rows. A link is
 * counted only on the shards that may own it under the ring in force (rows a re-sharding left
 * behind are not), and a link that two shards hold (mid re-sharding, rows on the old owner,
 * the new one or both) is left out of the shards' sums and read row by row, each row once.
 */
export class AccountClickStats {
  constructor(private readonly deps: { shards: ShardSet; router: RingRouter }) {}

  async of(owner: string | null, granularity: Granularity, range: StatsRange, limit: number): Promise<AccountStats> {
    const routing = this.deps.router.current;
    const shards = shardsToScan(routing);
    const base: AccountFilter = { owner, from: range.from, to: range.to, skip: [] };
    const perShard = await Promise.all(shards.map((s) => linkTotals(this.primary(s), base)));

    const holders = new Map<string, number>();
    const skip = new Map<number, Set<string>>(shards.map((s) => [s, new Set()]));
    perShard.forEach((rows, i) => {
      for (const row of rows) {
        if (ownersOf(routing, row.code).includes(shards[i]!)) holders.set(row.code, (holders.get(row.code) ?? 0) + 1);
        else skip.get(shards[i]!)!.add(row.code);
      }
    });
    const shared = [...holders].filter(([, n]) => n > 1).map(([code]) => code);
    for (const set of skip.values()) for (const code of shared) set.add(code);

    const filterOf = (s: number): AccountFilter => ({ ...base, skip: [...skip.get(s)!] });
    const [buckets, dims, sketches, sharedRows] = await Promise.all([
      Promise.all(shards.map((s) => bucketTotals(this.primary(s), filterOf(s), granularity))),
      Promise.all(shards.map((s) => dimensionTotals(this.primary(s), filterOf(s)))),
      Promise.all(shards.map((s) => visitorSketches(this.primary(s), base))),
      this.sharedLinkRows(shared, range),
    ]);
    const uniques = await uniqueVisitors(this.primary(shards[0]!), sketches.flat(), granularity);

    const series = new Map<string, Counts>();
    const addTo = (at: string, c: Counts) => {
      const point = series.get(at) ?? { clicks: 0, humans: 0, bots: 0 };
      series.set(at, point);
      point.clicks += c.clicks;
      point.humans += c.humans;
      point.bots += c.bots;
    };
    for (const rows of buckets) for (const b of rows) addTo(b.at.toISOString(), b);
    for (const row of sharedRows.clicks) addTo(bucketOf(row.hour, granularity), row);

    const links = new Map<string, LinkTotal>();
    perShard.forEach((rows, i) => {
      for (const row of rows) if (!skip.get(shards[i]!)!.has(row.code)) links.set(row.code, row);
    });
    for (const row of sharedRows.clicks) {
      const link = links.get(row.code) ?? { code: row.code, clicks: 0, humans: 0, bots: 0 };
      links.set(row.code, link);
      link.clicks += row.clicks;
      link.humans += row.humans;
      link.bots += row.bots;
    }

    const total = { clicks: 0, humans: 0, bots: 0 };
    for (const link of links.values()) {
      total.clicks += link.clicks;
      total.humans += link.humans;
      total.bots += link.bots;
    }
    const values = new Map<string, Map<string, Item>>();
    const addValue = (dimension: string, value: string, clicks: number, humans: number) => {
      const byValue = values.get(dimension) ?? new Map<string, Item>();
      values.set(dimension, byValue);
      const item = byValue.get(value) ?? { value, clicks: 0, humans: 0 };
      byValue.set(value, item);
      item.clicks += clicks;
      item.humans += humans;
    };
    for (const rows of dims) for (const d of rows) addValue(d.dimension, d.value, d.clicks, d.humans);
    for (const d of sharedRows.dims) addValue(d.dimension, d.value, d.clicks, d.humans);
    if (total.humans > 0) addValue("bot", "human", total.humans, total.humans);
    if (total.bots > 0) addValue("bot", "bot", total.bots, 0);

    return {
      scope: owner === null ? "cluster" : "key",
      total: total.clicks,
      humans: total.humans,
      bots: total.bots,
      unclassified: total.clicks - total.humans - total.bots,
      unique_visitors: uniques.total,
      links: [...links.values()].filter((l) => l.clicks > 0).length,
      granularity,
      from: range.from.toISOString(),
      to: range.to.toISOString(),
      series: [...series].sort((a, b) => a[0].localeCompare(b[0])).map(([at, c]) => ({ at, ...c, unique_visitors: uniques.buckets.get(at) ?? 0 })),
      top_links: [...links.values()]
        .filter((l) => l.clicks > 0)
        .sort((a, b) => b.clicks - a.clicks || b.humans - a.humans || (a.code < b.code ? -1 : 1))
        .slice(0, limit),
      dimensions: Object.fromEntries(DIMENSIONS.map((d) => [d, rankItems([...(values.get(d)?.values() ?? [])], limit)])) as AccountStats["dimensions"],
    };
  }

  /** The rows of links two shards hold, from their owners, each row (by its whole key) once. */
  private async sharedLinkRows(codes: string[], range: StatsRange) {
    if (codes.length === 0) return { clicks: [], dims: [] };
    const routing = this.deps.router.current;
    const shards = [...new Set(codes.flatMap((c) => ownersOf(routing, c)))];
    const owned = <R extends { code: string }>(s: number, rows: R[]) => rows.filter((r) => ownersOf(routing, r.code).includes(s));
    const [clicks, dims] = await Promise.all([
      Promise.all(shards.map(async (s) => owned(s, await clickRows(this.primary(s), codes, range.from, range.to)))),
      Promise.all(shards.map(async (s) => owned(s, await allDimensionRows(this.primary(s), codes, range.from, range.to)))),
    ]);
    return { clicks: onceEach(clicks.flat()), dims: onceEach(dims.flat()) };
  }

  private primary(shard: number) {
    return this.deps.shards.at(shard).primary;
  }
}

