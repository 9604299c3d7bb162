import type { PgNode } from "./nodes";
import { pgCall } from "./nodes";
import { arrayLiteral, textItems, type RollupColumns } from "./rollup-columns";

/** One flush of one instance's counts to one shard, identified so a retry is applied once. */
export interface ClickBatch {
  id: string;
  instance: string;
  home: number;
  /** The ring version the counts were routed by. */
  epoch: number;
  hour: Date;
  counts: ReadonlyMap<string, number>;
  /** The enriched share of the interval's clicks on this shard (null: analytics off, or nothing enriched). */
  rollups: RollupColumns | null;
}

/**
 * Applies a batch in one transaction: the batch id is recorded first, and if it was already
 * there (a retry of a flush whose commit we never heard about) nothing is added. False then.
 */
export async function applyClickBatch(node: PgNode, batch: ClickBatch): Promise<boolean> {
  // Array literals written here rather than by the driver's per-element serialiser (see rollup-columns.ts).
  const codes = arrayLiteral(textItems([...batch.counts.keys()]));
  const clicks = arrayLiteral([...batch.counts.values()].join(","));
  const r = batch.rollups;
  // Idempotent by its batch id: a retry after a timeout whose commit did land adds nothing.
  return node.policy.run(
    () =>
      node.client.begin(async (tx) => {
        const fresh = await tx`insert into click_batches (batch_id) values (${batch.id}) on conflict do nothing returning 1`;
        if (fresh.length === 0) return false;
        if (batch.counts.size > 0) {
          await tx`
            insert into link_clicks (code, hour, instance, home, epoch, clicks, humans, bots)
            select c, ${batch.hour}, ${batch.instance}, ${batch.home}, ${batch.epoch}, n, 0, 0 from unnest(${codes}::text[], ${clicks}::bigint[]) as t(c, n)
            on conflict (code, hour, instance, home, epoch) do update set clicks = link_clicks.clicks + excluded.clicks`;
        }
        if (r === null) return true;
        if (r.links > 0) {
          // A link's rollup may come in a later interval than its clicks: then its row gains humans and bots, and 0 clicks.
          await tx`
            insert into link_clicks (code, hour, instance, home, epoch, clicks, humans, bots)
            select c, ${batch.hour}, ${batch.instance}, ${batch.home}, ${batch.epoch}, 0, h, b
            from unnest(${arrayLiteral(r.codes)}::text[], ${arrayLiteral(r.humans)}::bigint[], ${arrayLiteral(r.bots)}::bigint[]) as t(c, h, b)
            on conflict (code, hour, instance, home, epoch) do update set humans = link_clicks.humans + excluded.humans, bots = link_clicks.bots + excluded.bots`;
        }
        if (r.dimRows > 0) {
          await tx`
            insert into link_click_dims (code, hour, home, epoch, dimension, value, clicks, humans)
            select c, ${batch.hour}, ${batch.home}, ${batch.epoch}, d, v, n, h
            from unnest(${arrayLiteral(r.dimCodes)}::text[], ${arrayLiteral(r.dimNames)}::text[], ${arrayLiteral(r.dimValues)}::text[], ${arrayLiteral(r.dimClicks)}::bigint[], ${arrayLiteral(r.dimHumans)}::bigint[]) as t(c, d, v, n, h)
            on conflict (code, hour, home, epoch, dimension, value) do update
              set clicks = link_click_dims.clicks + excluded.clicks, humans = link_click_dims.humans + excluded.humans`;
        }
        if (r.visitorRows > 0) {
          // A union: adding a visitor twice (another instance, a copy) changes nothing.
          await tx`
            insert into link_visitors (code, hour, home, epoch, visitors)
            select c, ${batch.hour}, ${batch.home}, ${batch.epoch}, hll_add_agg(hll_hash_bigint(v)) from unnest(${arrayLiteral(r.visitorCodes)}::text[], ${arrayLiteral(r.visitorIds)}::bigint[]) as t(c, v) group by c
            on conflict (code, hour, home, epoch) do update set visitors = hll_union(link_visitors.visitors, excluded.visitors)`;
        }
        return true;
      }),
    { idempotent: true },
  );
}

export interface ClickRow {
  /** The row's whole key: the same row read from two shards (mid re-sharding) has the same key. */
  key: string;
  code: string;
  hour: Date;
  instance: string;
  home: number;
  epoch: number;
  clicks: number;
  humans: number;
  bots: number;
}

/** The click rows of some links in [from, to). */
export async function clickRows(node: PgNode, codes: readonly string[], from: Date, to: Date): Promise<ClickRow[]> {
  const rows = await pgCall(
    node,
    (sql) =>
      sql<{ code: string; hour: Date; instance: string; home: number; epoch: string; clicks: string; humans: string; bots: string }[]>`
        select code, hour, instance, home, epoch::text, clicks::text, humans::text, bots::text from link_clicks where code = any(${codes as string[]}::text[]) and hour >= ${from} and hour < ${to}`,
    { idempotent: true },
  );
  return rows.map((r) => ({ key: `${r.code}|${r.hour.toISOString()}|${r.instance}|${r.home}|${r.epoch}`, code: r.code, hour: r.hour, instance: r.instance, home: r.home, epoch: Number(r.epoch), clicks: Number(r.clicks), humans: Number(r.humans), bots: Number(r.bots) }));
}

export interface DimensionRow {
  key: string;
  value: string;
  clicks: number;
  humans: number;
}

/**
 * A link's rows of one dimension in [from, to), each with its full key so the same row read from
 * two shards (mid re-sharding) is counted once.
 */
export async function dimensionRows(node: PgNode, code: string, dimension: string, from: Date, to: Date): Promise<DimensionRow[]> {
  const rows = await pgCall(
    node,
    (sql) =>
      sql<{ hour: Date; home: number; epoch: string; value: string; clicks: string; humans: string }[]>`
        select hour, home, epoch::text, value, clicks::text, humans::text from link_click_dims
        where code = ${code} and dimension = ${dimension} and hour >= ${from} and hour < ${to}`,
    { idempotent: true },
  );
  return rows.map((r) => ({ key: `${r.hour.toISOString()}|${r.home}|${r.epoch}|${r.value}`, value: r.value, clicks: Number(r.clicks), humans: Number(r.humans) }));
}

/** Some links' rows of every stored dimension in [from, to), each with its whole key. */
export async function allDimensionRows(node: PgNode, codes: readonly string[], from: Date, to: Date): Promise<Array<DimensionRow & { code: string; hour: Date; dimension: string }>> {
  const rows = await pgCall(
    node,
    (sql) =>
      sql<{ code: string; hour: Date; home: number; epoch: string; dimension: string; value: string; clicks: string; humans: string }[]>`
        select code, hour, home, epoch::text, dimension, value, clicks::text, humans::text from link_click_dims
        where code = any(${codes as string[]}::text[]) and hour >= ${from} and hour < ${to}`,
    { idempotent: true },
  );
  return rows.map((r) => ({ key: `${r.code}|${r.hour.toISOString()}|${r.home}|${r.epoch}|${r.dimension}|${r.value}`, code: r.code, hour: r.hour, dimension: r.dimension, value: r.value, clicks: Number(r.clicks), humans: Number(r.humans) }));
}

/** The hour of a link's first flushed click on this shard, or null. */
export async function firstClickHour(node: PgNode, code: string): Promise<Date | null> {
  const rows = await pgCall(node, (sql) => sql<{ first: Date | null }[]>`select min(hour) as first from link_clicks where code = ${code}`, { idempotent: true });
  return rows[0]?.first ?? null;
}

/** A link's visitor sketches in [from, to), in the extension's text form (for a union elsewhere). */
export async function visitorRows(node: PgNode, code: string, from: Date, to: Date): Promise<Array<{ hour: Date; sketch: string }>> {
  return pgCall(node, (sql) => sql<{ hour: Date; sketch: string }[]>`select hour, visitors::text as sketch from link_visitors where code = ${code} and hour >= ${from} and hour < ${to}`, { idempotent: true });
}

/**
 * Unique visitors of sketches (from any shards): per bucket (`hour` or `day`) and over all of
 * them, as the union's estimated cardinality.
 */
export async function uniqueVisitors(node: PgNode, sketches: ReadonlyArray<{ hour: Date; sketch: string }>, granularity: "hour" | "day"): Promise<{ total: number; buckets: Map<string, number> }> {
  if (sketches.length === 0) return { total: 0, buckets: new Map() };
  const hours = sketches.map((s) => s.hour.toISOString());
  const texts = sketches.map((s) => s.sketch);
  const rows = await pgCall(
    node,
    (sql) =>
      sql<{ at: Date | null; n: string }[]>`
        select date_trunc(${granularity}, hour, 'UTC') as at, round(hll_cardinality(hll_union_agg(h::hll)))::text as n
        from unnest(${hours}::timestamptz[], ${texts}::text[]) as t(hour, h) group by rollup (1)`,
    { idempotent: true },
  );
  const buckets = new Map<string, number>();
  let total = 0;
  for (const r of rows) {
    if (r.at === null) total = Number(r.n);
    else buckets.set(r.at.toISOString(), Number(r.n));
  }
  return { total, buckets };
}

/** Batch ids are only needed while a retry can still come: older ones are forgotten. */
export async function pruneClickBatches(node: PgNode, olderThanHours: number): Promise<void> {
  await pgCall(node, (sql) => sql`delete from click_batches where applied_at < now() - make_interval(hours => ${olderThanHours})`, { idempotent: true });
}

/** Analytics older than the retention: breakdown rows and visitor sketches (the click counts stay with the link). */
export async function pruneAnalytics(node: PgNode, retentionDays: number): Promise<void> {
  await pgCall(node, (sql) => sql`delete from link_click_dims where hour < now() - make_interval(days => ${retentionDays})`, { idempotent: true });
  await pgCall(node, (sql) => sql`delete from link_visitors where hour < now() - make_interval(days => ${retentionDays})`, { idempotent: true });
}
