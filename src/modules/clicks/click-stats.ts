import { rankItems } from "../../domain/ranking";
import { ownersOf } from "../../domain/topology";
import { AppError } from "../../errors";
import { isShortCodeShape } from "../../domain/short-code";
import type { Dimension, StoredDimension } from "../../domain/click-dimensions";
import { allDimensionRows, clickRows, dimensionRows, firstClickHour, uniqueVisitors, visitorRows, type ClickRow, type DimensionRow } from "../../storage/click-rows";
import { findLongUrl } from "../../storage/link-rows";
import type { ShardSet } from "../../storage/shard-set";
import type { RingRouter } from "../../topology/ring-router";

export type Granularity = "hour" | "day";

export interface StatsRange {
  from: Date;
  to: Date;
}

interface Figures {
  clicks: number;
  humans: number;
  bots: number;
  unique_visitors: number;
}

export interface LinkStats {
  code: string;
  total: number;
  humans: number;
  bots: number;
  /** total - humans - bots: clicks counted before analytics, or whose details were dropped under overload. */
  unclassified: number;
  unique_visitors: number;
  granularity: Granularity;
  from: string;
  to: string;
  series: Array<{ at: string } & Figures>;
}

export interface DimensionStats {
  code: string;
  dimension: Dimension;
  from: string;
  to: string;
  items: Array<{ value: string; clicks: number; humans: number }>;
  /** What `limit` left out, summed. */
  other: { clicks: number; humans: number };
}

/**
 * A link's clicks from its shard: the total, humans and bots, unique visitors and a per-hour or
 * per-day series (UTC), summed over every instance's flushed rows, and breakdowns by dimension.
 * While a re-sharding runs, rows may sit on the old owner, the new one, or both (copied): both
 * owners are read, a row seen twice counts once, and visitor sketches are united. Clicks still in
 * an instance's memory (up to one flush interval) are not included yet.
 */
export class ClickStats {
  constructor(private readonly deps: { shards: ShardSet; router: RingRouter }) {}

  async of(code: string, granularity: Granularity, range: StatsRange): Promise<LinkStats> {
    const owners = await this.ownersHolding(code);
    const [rows, sketches] = await Promise.all([this.clickRowsOf(owners, code, range), Promise.all(owners.map((s) => visitorRows(this.primary(s), code, range.from, range.to)))]);
    const uniques = await uniqueVisitors(this.primary(owners[0]!), sketches.flat(), granularity);
    const series = new Map<string, Figures>();
    const total = { clicks: 0, humans: 0, bots: 0 };
    for (const row of rows) {
      const at = bucketOf(row.hour, granularity);
      const point = series.get(at) ?? { clicks: 0, humans: 0, bots: 0, unique_visitors: uniques.buckets.get(at) ?? 0 };
      series.set(at, point);
      for (const k of ["clicks", "humans", "bots"] as const) {
        point[k] += row[k];
        total[k] += row[k];
      }
    }
    return {
      code,
      total: total.clicks,
      humans: total.humans,
      bots: total.bots,
      unclassified: total.clicks - total.humans - total.bots,
      unique_visitors: uniques.total,
      granularity,
      from: range.from.toISOString(),
      to: range.to.toISOString(),
      series: [...series].sort((a, b) => a[0].localeCompare(b[0])).map(([at, f]) => ({ at, ...f })),
    };
  }

  private async dimensionRowsOf(owners: number[], code: string, dimension: StoredDimension, range: StatsRange): Promise<Map<string, DimensionRow>> {
    const found = await Promise.all(owners.map((s) => dimensionRows(this.primary(s), code, dimension, range.from, range.to)));
    return new Map(onceEach(found.flat()).map((r) => [r.key, r]));
  }

  /** human/bot from the click rows themselves (each has its humans and bots). */
  private async botRows(owners: number[], code: string, range: StatsRange): Promise<Map<string, DimensionRow>> {
    const rows = new Map<string, DimensionRow>();
    for (const { key, ...row } of await this.clickRowsOf(owners, code, range)) {
      if (row.humans > 0) rows.set(`${key}|human`, { key, value: "human", clicks: row.humans, humans: row.humans });
      if (row.bots > 0) rows.set(`${key}|bot`, { key, value: "bot", clicks: row.bots, humans: 0 });
    }
    return rows;
  }

  /**
   * The rollup rows of [from, to) as CSV, a week at a time (memory stays one week of rows
   * however long the range): per hour, `all` (clicks and humans), `bot` (human and bot), each
   * stored dimension's values, and `unique_visitors`. Throws 404 before the first line.
   */
  async csv(code: string, range: StatsRange): Promise<AsyncGenerator<string>> {
    const owners = await this.ownersHolding(code);
    const firsts = (await Promise.all(owners.map((s) => firstClickHour(this.primary(s), code)))).filter((d): d is Date => d !== null);
    const start = Math.max(range.from.getTime(), Math.min(...firsts.map((d) => d.getTime()), range.to.getTime()));
    const self = this;
    return (async function* () {
      yield "hour,dimension,value,clicks,humans\n";
      for (let at = start; at < range.to.getTime(); at += WEEK_MS) {
        const week = { from: new Date(at), to: new Date(Math.min(at + WEEK_MS, range.to.getTime())) };
        const lines = await self.weekRows(owners, code, week);
        if (lines.length > 0) yield lines.join("");
      }
    })();
  }

  private async weekRows(owners: number[], code: string, week: StatsRange): Promise<string[]> {
    const [clicks, dims, sketches] = await Promise.all([
      this.clickRowsOf(owners, code, week),
      Promise.all(owners.map((s) => allDimensionRows(this.primary(s), [code], week.from, week.to))),
      Promise.all(owners.map((s) => visitorRows(this.primary(s), code, week.from, week.to))),
    ]);
    const rows = new Map<string, [string, string, string, number, number]>();
    const add = (hour: Date, dimension: string, value: string, n: number, humans: number) => {
      const key = `${hour.toISOString()}\u0000${dimension}\u0000${value}`;
      const row = rows.get(key) ?? [hour.toISOString(), dimension, value, 0, 0];
      row[3] += n;
      row[4] += humans;
      rows.set(key, row);
    };
    for (const row of clicks) {
      add(row.hour, "all", "", row.clicks, row.humans);
      if (row.humans > 0) add(row.hour, "bot", "human", row.humans, row.humans);
      if (row.bots > 0) add(row.hour, "bot", "bot", row.bots, 0);
    }
    for (const row of onceEach(dims.flat())) add(row.hour, row.dimension, row.value, row.clicks, row.humans);
    const uniques = await uniqueVisitors(this.primary(owners[0]!), sketches.flat(), "hour");
    for (const [at, n] of uniques.buckets) add(new Date(at), "unique_visitors", "", n, n);
    return [...rows.values()].sort((a, b) => (a[0] + a[1] + a[2] < b[0] + b[1] + b[2] ? -1 : 1)).map((r) => `${r[0]},${csvField(r[1])},${csvField(r[2])},${r[3]},${r[4]}\n`);
  }

  /** Every counted click of the link (its details page). */
  async total(code: string): Promise<number> {
    const owners = await this.ownersHolding(code);
    let n = 0;
    for (const row of await this.clickRowsOf(owners, code, { from: new Date(0), to: FAR_FUTURE })) n += row.clicks;
    return n;
  }

  /** Every counted click and the humans among them, for each of some links (a page of a list): one query per shard. */
  async countsOf(codes: readonly string[]): Promise<Map<string, { clicks: number; humans: number }>> {
    const route = this.deps.router.current;
    const byShard = new Map<number, string[]>();
    for (const code of codes) for (const shard of ownersOf(route, code)) (byShard.get(shard) ?? byShard.set(shard, []).get(shard)!).push(code);
    const found = await Promise.all([...byShard].map(([shard, some]) => clickRows(this.primary(shard), some, new Date(0), FAR_FUTURE)));
    const counts = new Map(codes.map((code) => [code, { clicks: 0, humans: 0 }]));
    for (const row of onceEach(found.flat())) {
      const count = counts.get(row.code);
      if (count === undefined) continue;
      count.clicks += row.clicks;
      count.humans += row.humans;
    }
    return counts;
  }

  /** The link's click rows on every owner, a row copied to two of them (mid re-sharding) once. */
  private async clickRowsOf(owners: number[], code: string, range: StatsRange): Promise<ClickRow[]> {
    const found = await Promise.all(owners.map((s) => clickRows(this.primary(s), [code], range.from, range.to)));
    return onceEach(found.flat());
  }

  async breakdown(code: string, dimension: Dimension, range: StatsRange, limit: number): Promise<DimensionStats> {
    const owners = await this.ownersHolding(code);
    const rows = dimension === "bot" ? await this.botRows(owners, code, range) : await this.dimensionRowsOf(owners, code, dimension, range);
    const values = new Map<string, { value: string; clicks: number; humans: number }>();
    for (const row of rows.values()) {
      const item = values.get(row.value) ?? { value: row.value, clicks: 0, humans: 0 };
      values.set(row.value, item);
      item.clicks += row.clicks;
      item.humans += row.humans;
    }
    return { code, dimension, from: range.from.toISOString(), to: range.to.toISOString(), ...rankItems([...values.values()], limit) };
  }

  /** The shards that may hold the link's rows; a link none of them has is a 404. The primary: stats must count every flushed click, and a replica may lag. */
  private async ownersHolding(code: string): Promise<number[]> {
    if (!isShortCodeShape(code)) throw notFound(code);
    const owners = ownersOf(this.deps.router.current, code);
    const exists = await Promise.all(owners.map((s) => findLongUrl(this.primary(s), code)));
    if (exists.every((e) => e === null)) throw notFound(code);
    return owners;
  }

  private primary(shard: number) {
    return this.deps.shards.at(shard).primary;
  }
}

const FAR_FUTURE = new Date("9999-01-01T00:00:00Z");
const WEEK_MS = 7 * 86_400_000;

/** RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled. A leading =, +, - or @ is prefixed with ' so a spreadsheet does not run it. */
function csvField(text: string): string {
  const safe = /^[=+\-@]/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** Rows read from several shards, a row seen on two of them (a re-sharding's copy) once. */
export function onceEach<R extends { key: string }>(rows: R[]): R[] {
  return [...new Map(rows.map((r) => [r.key, r])).values()];
}

export function bucketOf(hour: Date, granularity: Granularity): string {
  return granularity === "hour" ? hour.toISOString() : `${hour.toISOString().slice(0, 10)}T00:00:00.000Z`;
}

function notFound(code: string): AppError {
  return new AppError("short-url-not-found", `no short URL ${JSON.stringify(code.slice(0, 64))}`);
}
