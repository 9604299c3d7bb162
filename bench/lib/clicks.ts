import postgres from "postgres";
import { scrape } from "./backend-metrics";
import type { ShardUrls } from "./stack";

/**
 * The clicks check of the redirect benchmarks: every redirect an instance serves is one click,
 * counted in memory and flushed to `link_clicks` on the code's shard every CLICK_FLUSH_MS, and a
 * graceful stop (SIGTERM) flushes what is left. So after a load and a graceful stop, the clicks
 * in the database must equal the 302s the load tool received: none lost, none doubled.
 */

export interface ClickTotals {
  /** sum(clicks) over every shard's link_clicks. */
  total: number;
  /** sum(clicks) of the given codes only (null when no codes were given). */
  forCodes: number | null;
  /** sum(clicks) by the row's instance (instance-<INSTANCE_ID>). */
  byInstance: Record<string, number>;
  rows: number;
}

/** Reads link_clicks on every shard primary (the rows of a code live on its shard). */
export async function clickTotals(shards: readonly ShardUrls[], codes?: readonly string[]): Promise<ClickTotals> {
  const totals: ClickTotals = { total: 0, forCodes: codes ? 0 : null, byInstance: {}, rows: 0 };
  await Promise.all(
    shards.map(async (s) => {
      const sql = postgres(s.primary, { max: 1, onnotice: () => {} });
      try {
        const rows = await sql<{ instance: string; clicks: string; n: string }[]>`select instance, sum(clicks)::text as clicks, count(*)::text as n from link_clicks group by instance`;
        for (const r of rows) {
          totals.total += Number(r.clicks);
          totals.rows += Number(r.n);
          totals.byInstance[r.instance] = (totals.byInstance[r.instance] ?? 0) + Number(r.clicks);
        }
        if (codes) {
          const [row] = await sql<{ clicks: string | null }[]>`select sum(clicks)::text as clicks from link_clicks where code = any(${codes as string[]}::text[])`;
          totals.forCodes! += Number(row?.clicks ?? 0);
        }
      } finally {
        await sql.end({ timeout: 2 });
      }
    }),
  );
  return totals;
}

export interface ClickFigures {
  counted: number;
  flushed: number;
  lost: number;
}

/** `shorten_clicks{state=...}` of each instance (GET /metrics). */
export async function clickFigures(instanceUrls: readonly string[]): Promise<ClickFigures[]> {
  return Promise.all(
    instanceUrls.map(async (u) => {
      const m = await scrape([u]);
      return { counted: m.get('shorten_clicks{state="counted"}') ?? Number.NaN, flushed: m.get('shorten_clicks{state="flushed"}') ?? Number.NaN, lost: m.get('shorten_clicks{state="lost"}') ?? Number.NaN };
    }),
  );
}

/**
 * Waits (load stopped) until every instance has flushed or given up on everything it counted,
 * so the database holds all clicks so far; resolves with the last figures and whether it settled.
 */
export async function clicksSettled(instanceUrls: readonly string[], timeoutMs = 15_000): Promise<{ settled: boolean; figures: ClickFigures[] }> {
  const deadline = Date.now() + timeoutMs;
  let figures = await clickFigures(instanceUrls);
  while (Date.now() < deadline) {
    if (figures.every((f) => f.counted === f.flushed + f.lost)) return { settled: true, figures };
    await Bun.sleep(200);
    figures = await clickFigures(instanceUrls);
  }
  return { settled: false, figures };
}

export const sumFigures = (list: readonly ClickFigures[]): ClickFigures => list.reduce((a, f) => ({ counted: a.counted + f.counted, flushed: a.flushed + f.flushed, lost: a.lost + f.lost }), { counted: 0, flushed: 0, lost: 0 });
