import type postgres from "postgres";
import type { PgNode } from "./nodes";
import { pgCall } from "./nodes";

/**
 * Folds hourly rollup rows older than `olderThanDays` (whole UTC days) into one row per day, the
 * day's 00:00 row: counts are added into it, visitor sketches united into it. Each table is one
 * statement (delete the day's other hours, upsert their sums), so a crash leaves every day either
 * folded or not, and running it again finds nothing more to fold. Keys keep their instance, home
 * and epoch, so a folded row still never meets one flushed elsewhere; a retry after a commit we
 * did not hear about finds nothing left to fold. Returns the day rows written.
 */
export async function compactRollups(node: PgNode, olderThanDays: number): Promise<number> {
  const cutoff = (sql: postgres.Sql) => sql`date_trunc('day', now() - make_interval(days => ${olderThanDays}), 'UTC')`;
  const folded = await Promise.all([
    pgCall(
      node,
      (sql) => sql`
        with gone as (delete from link_clicks where hour < ${cutoff(sql)} and hour <> date_trunc('day', hour, 'UTC') returning *)
        insert into link_clicks (code, hour, instance, home, epoch, clicks, humans, bots)
        select code, date_trunc('day', hour, 'UTC'), instance, home, epoch, sum(clicks), sum(humans), sum(bots) from gone group by 1, 2, 3, 4, 5
        on conflict (code, hour, instance, home, epoch) do update
          set clicks = link_clicks.clicks + excluded.clicks, humans = link_clicks.humans + excluded.humans, bots = link_clicks.bots + excluded.bots`,
      { idempotent: true },
    ),
    pgCall(
      node,
      (sql) => sql`
        with gone as (delete from link_click_dims where hour < ${cutoff(sql)} and hour <> date_trunc('day', hour, 'UTC') returning *)
        insert into link_click_dims (code, hour, home, epoch, dimension, value, clicks, humans)
        select code, date_trunc('day', hour, 'UTC'), home, epoch, dimension, value, sum(clicks), sum(humans) from gone group by 1, 2, 3, 4, 5, 6
        on conflict (code, hour, home, epoch, dimension, value) do update
          set clicks = link_click_dims.clicks + excluded.clicks, humans = link_click_dims.humans + excluded.humans`,
      { idempotent: true },
    ),
    pgCall(
      node,
      (sql) => sql`
        with gone as (delete from link_visitors where hour < ${cutoff(sql)} and hour <> date_trunc('day', hour, 'UTC') returning *)
        insert into link_visitors (code, hour, home, epoch, visitors)
        select code, date_trunc('day', hour, 'UTC'), home, epoch, hll_union_agg(visitors) from gone group by 1, 2, 3, 4
        on conflict (code, hour, home, epoch) do update set visitors = hll_union(link_visitors.visitors, excluded.visitors)`,
      { idempotent: true },
    ),
  ]);
  return folded.reduce((n, r) => n + r.count, 0);
}
