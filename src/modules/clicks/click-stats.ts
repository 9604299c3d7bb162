import { ownersOf } from "../../domain/topology";
import { AppError } from "../../errors";
import { isShortCodeShape } from "../../domain/short-code";
import { clickRows, type ClickRow } from "../../storage/click-rows";
import { findLongUrl } from "../../storage/link-rows";
import type { ShardSet } from "../../storage/shard-set";
import type { RingRouter } from "../../topology/ring-router";

export type Granularity = "hour" | "day";

export interface LinkStats {
  code: string;
  total: number;
  granularity: Granularity;
  series: Array<{ at: string; clicks: number }>;
}

/**
 * A link's clicks from its shard: the total and a per-hour or per-day series (UTC), summed over
 * every instance's flushed rows. While a re-sharding runs, rows may sit on the old owner, the new
 * one, or both (copied): both owners are read and a row seen twice counts once. Clicks still in
 * an instance's memory (up to one flush interval) are not included yet.
 */
export class ClickStats {
  constructor(private readonly deps: { shards: ShardSet; router: RingRouter }) {}

  async of(code: string, granularity: Granularity): Promise<LinkStats> {
    if (!isShortCodeShape(code)) throw notFound(code);
    const route = this.deps.router.current;
    const owners = ownersOf(route, code);
    const found = await Promise.all(owners.map((s) => this.onShard(s, code)));
    if (found.every((f) => !f.exists)) throw notFound(code);
    const rows = new Map<string, ClickRow>();
    for (const row of found.flatMap((f) => f.rows)) rows.set(`${row.hour.toISOString()}|${row.instance}|${row.home}|${row.epoch}`, row);
    const series = new Map<string, number>();
    let total = 0;
    for (const row of rows.values()) {
      total += row.clicks;
      const at = granularity === "hour" ? row.hour.toISOString() : `${row.hour.toISOString().slice(0, 10)}T00:00:00.000Z`;
      series.set(at, (series.get(at) ?? 0) + row.clicks);
    }
    return { code, total, granularity, series: [...series].sort((a, b) => a[0].localeCompare(b[0])).map(([at, clicks]) => ({ at, clicks })) };
  }

  /** The primary: stats must count every flushed click, and a replica may lag. */
  private async onShard(shard: number, code: string): Promise<{ exists: boolean; rows: ClickRow[] }> {
    const { primary } = this.deps.shards.at(shard);
    const [longUrl, rows] = await Promise.all([findLongUrl(primary, code), clickRows(primary, code)]);
    return { exists: longUrl !== null, rows };
  }
}

function notFound(code: string): AppError {
  return new AppError("short-url-not-found", `no short URL ${JSON.stringify(code.slice(0, 64))}`);
}
