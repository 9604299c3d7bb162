import type { Sql } from "postgres";
import type { PgNode } from "./nodes";
import { pgCall } from "./nodes";

/**
 * Click rollups of many links at once, summed on the shard: one key's links (`owner`), or every
 * link the shard holds (`owner` null, an admin's view). `skip` leaves links out of the sums (the
 * caller reads those row by row: links a re-sharding has on two shards, or rows left on a shard
 * that no longer owns the link), so what comes back is already added up and small.
 */
export interface AccountFilter {
  owner: string | null;
  from: Date;
  to: Date;
  skip: readonly string[];
}

export interface LinkTotal {
  code: string;
  clicks: number;
  humans: number;
  bots: number;
}

const scoped = (sql: Sql, f: AccountFilter) =>
  sql`hour >= ${f.from} and hour < ${f.to} and code <> all(${f.skip as string[]}::text[]) ${f.owner === null ? sql`` : sql`and code in (select code from links where owner = ${f.owner})`}`;

/** Per link: its clicks, humans and bots in the range. */
export async function linkTotals(node: PgNode, f: AccountFilter): Promise<LinkTotal[]> {
  const rows = await pgCall(
    node,
    (sql) => sql<{ code: string; clicks: string; humans: string; bots: string }[]>`
      select code, sum(clicks)::text as clicks, sum(humans)::text as humans, sum(bots)::text as bots from link_clicks where ${scoped(sql, f)} group by code`,
    { idempotent: true },
  );
  return rows.map((r) => ({ code: r.code, clicks: Number(r.clicks), humans: Number(r.humans), bots: Number(r.bots) }));
}

/** Per hour or day (UTC): clicks, humans and bots of every link in the filter together. */
export async function bucketTotals(node: PgNode, f: AccountFilter, granularity: "hour" | "day"): Promise<Array<{ at: Date; clicks: number; humans: number; bots: number }>> {
  const rows = await pgCall(
    node,
    (sql) => sql<{ at: Date; clicks: string; humans: string; bots: string }[]>`
      select date_trunc(${granularity}, hour, 'UTC') as at, sum(clicks)::text as clicks, sum(humans)::text as humans, sum(bots)::text as bots
      from link_clicks where ${scoped(sql, f)} group by 1`,
    { idempotent: true },
  );
  return rows.map((r) => ({ at: r.at, clicks: Number(r.clicks), humans: Number(r.humans), bots: Number(r.bots) }));
}

/** Per dimension and value: clicks and humans of every link in the filter together. */
export async function dimensionTotals(node: PgNode, f: AccountFilter): Promise<Array<{ dimension: string; value: string; clicks: number; humans: number }>> {
  const rows = await pgCall(
    node,
    (sql) => sql<{ dimension: string; value: string; clicks: string; humans: string }[]>`
      select dimension, value, sum(clicks)::text as clicks, sum(humans)::text as humans from link_click_dims where ${scoped(sql, f)} group by 1, 2`,
    { idempotent: true },
  );
  return rows.map((r) => ({ dimension: r.dimension, value: r.value, clicks: Number(r.clicks), humans: Number(r.humans) }));
}

/**
 * Per hour: the union of every link's visitor sketch, so one visitor of many links is one. A
 * union is idempotent, so links on two shards need no skipping here.
 */
export async function visitorSketches(node: PgNode, f: AccountFilter): Promise<Array<{ hour: Date; sketch: string }>> {
  return pgCall(
    node,
    (sql) => sql<{ hour: Date; sketch: string }[]>`
      select hour, hll_union_agg(visitors)::text as sketch from link_visitors where ${scoped(sql, { ...f, skip: [] })} group by hour`,
    { idempotent: true },
  );
}
