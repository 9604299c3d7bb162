import { Elysia } from "elysia";
import { z } from "zod";
import { DIMENSIONS } from "../../domain/click-dimensions";
import { AppError } from "../../errors";
import { documented } from "../../http/api-doc";
import { pulledBody } from "../../http/pulled-body";
import type { AccessControl } from "../keys/access";
import { requireKey } from "../keys/auth";
import type { KeyRing } from "../keys/key-ring";
import type { LinkManager } from "../links/link-manager";
import { parseQuery } from "../links/schema";
import type { AccountClickStats } from "./account-stats";
import type { ClickStats, StatsRange } from "./click-stats";

const instant = (name: string) => z.iso.datetime({ offset: true, error: `${name} must be an ISO 8601 date-time, e.g. 2026-12-01T00:00:00Z` }).optional();
const range = { from: instant("from").meta({ description: "start (inclusive); default: 1970-01-01T00:00:00Z, so every click up to `to`" }), to: instant("to").meta({ description: "end (exclusive); default: now" }) };

const granularity = (fallback: "hour" | "day") => z.enum(["hour", "day"], { error: "granularity must be hour or day" }).default(fallback);
const limit = z.coerce.number({ error: "limit must be a number" }).int("limit must be an integer").min(1, "limit must be >= 1").max(1000, "limit must be <= 1000").default(10);
export const statsQuery = z.object({ granularity: granularity("hour"), ...range });
const csvQuery = z.object(range);
export const breakdownQuery = z.object({ ...range, limit });
const dimensionParam = z.enum(DIMENSIONS, { error: `dimension must be one of ${DIMENSIONS.join(", ")}` });

const figures = { clicks: z.number(), humans: z.number(), bots: z.number(), unique_visitors: z.number() };
export const statsView = z.object({
  code: z.string(),
  total: z.number().meta({ description: "every counted redirect (HEAD and bots included)" }),
  humans: z.number(),
  bots: z.number().meta({ description: "HEAD requests, crawlers and link-preview fetchers" }),
  unclassified: z.number().meta({ description: "total - humans - bots: counted before analytics, or whose details were dropped under overload" }),
  unique_visitors: z.number().meta({ description: "distinct human visitors per day, summed over the days of the range (HyperLogLog: exact up to ~160 per hour, then about ±2.3 %)" }),
  granularity: z.enum(["hour", "day"]),
  from: z.string(),
  to: z.string(),
  series: z.array(z.object({ at: z.string().meta({ description: "start of the hour or day, UTC" }), ...figures })),
});
export const accountStatsQuery = z.object({ granularity: granularity("day"), ...range, limit: limit.meta({ description: "how many top links and top values of each dimension" }) });
const itemsView = z.object({ items: z.array(z.object({ value: z.string(), clicks: z.number(), humans: z.number() })), other: z.object({ clicks: z.number(), humans: z.number() }) });
export const accountStatsView = z.object({
  scope: z.enum(["key", "cluster"]).meta({ description: "key: the calling key's links; cluster: every link (an admin)" }),
  total: z.number(),
  humans: z.number(),
  bots: z.number(),
  unclassified: z.number(),
  unique_visitors: z.number().meta({ description: "distinct human visitors over all the links together (HyperLogLog, as per link)" }),
  links: z.number().meta({ description: "links with a click in the range" }),
  granularity: z.enum(["hour", "day"]),
  from: z.string(),
  to: z.string(),
  series: z.array(z.object({ at: z.string(), ...figures })),
  top_links: z.array(z.object({ code: z.string(), clicks: z.number(), humans: z.number(), bots: z.number() })),
  dimensions: z.object(Object.fromEntries(DIMENSIONS.map((d) => [d, itemsView])) as Record<(typeof DIMENSIONS)[number], typeof itemsView>),
});
export const breakdownView = z.object({
  code: z.string(),
  dimension: dimensionParam,
  from: z.string(),
  to: z.string(),
  items: z.array(z.object({ value: z.string(), clicks: z.number(), humans: z.number() })),
  other: z.object({ clicks: z.number(), humans: z.number() }).meta({ description: "the values beyond limit, summed" }),
});

/** [from, to): the link's whole life up to now when not given. */
function rangeOf(q: { from?: string; to?: string }, now: number): StatsRange {
  const from = q.from ? new Date(q.from) : new Date(0);
  const to = q.to ? new Date(q.to) : new Date(now + 3_600_000);
  if (from.getTime() >= to.getTime()) throw new AppError("invalid-query", "from must be before to");
  return { from, to };
}

/**
 * A link's clicks, for the key that owns it (another key's link is 404) or for an admin (the
 * admin token or an admin key): GET /api/links/{code}/stats (totals, humans and bots, unique
 * visitors, a series), GET /api/links/{code}/stats/{dimension} (a breakdown) and
 * GET /api/links/{code}/stats.csv (the rollup rows).
 */
export function clickRoutes(deps: { stats: ClickStats; accountStats: AccountClickStats; access: AccessControl; keys: KeyRing; manager: LinkManager }) {
  const linkOf = async (request: Request, path: string): Promise<string> => {
    if (await deps.access.isAdmin(request)) return path;
    const principal = await requireKey(request, deps.keys);
    return (await deps.manager.get(principal.keyId, path)).code;
  };
  const codeOf = (params: Record<string, unknown>) => (typeof params.code === "string" ? params.code : "");
  return new Elysia({ name: "clicks" })
    .get(
      "/api/stats",
      async ({ query, request }) => {
        const q = parseQuery(accountStatsQuery, query);
        const range = rangeOf(q, Date.now());
        const owner = (await deps.access.isAdmin(request)) ? null : (await requireKey(request, deps.keys)).keyId;
        return deps.accountStats.of(owner, q.granularity, range, q.limit);
      },
      {
        detail: documented({
          summary: "All of a key's links together (an admin: the whole cluster): totals, a series, top links, top values of each dimension",
          auth: true,
          query: accountStatsQuery,
          responses: { 200: accountStatsView },
          errors: [400, 401, 429, 503],
        }),
      },
    )
    .get(
      "/api/links/:code/stats",
      async ({ params, query, request }) => {
        const q = parseQuery(statsQuery, query);
        const range = rangeOf(q, Date.now());
        return deps.stats.of(await linkOf(request, codeOf(params)), q.granularity, range);
      },
      { detail: documented({ summary: "A link's clicks: humans, bots, unique visitors, a series", description: "For the key that owns the link (another key's is 404) or an admin.", auth: true, query: statsQuery, responses: { 200: statsView }, errors: [400, 401, 404, 429, 503] }) },
    )
    .get(
      "/api/links/:code/stats.csv",
      async ({ params, query, request }) => {
        const range = rangeOf(parseQuery(csvQuery, query), Date.now());
        const code = await linkOf(request, codeOf(params));
        // Pulled a week of rows at a time as the client reads.
        const body = await pulledBody(await deps.stats.csv(code, range), (lines) => lines);
        return new Response(body, { headers: { "content-type": "text/csv; charset=utf-8", "content-disposition": `attachment; filename="${code}-stats.csv"` } });
      },
      {
        detail: documented({
          summary: "A link's rollup rows as CSV (streamed)",
          description: "hour,dimension,value,clicks,humans: per hour `all`, `bot` (human, bot), each dimension's values, and `unique_visitors`.",
          auth: true,
          query: csvQuery,
          responses: { 200: { description: "CSV, a header line then one line per hour, dimension and value", media: { "text/csv": z.string() } } },
          errors: [400, 401, 404, 429, 503],
        }),
      },
    )
    .get(
      "/api/links/:code/stats/:dimension",
      async ({ params, query, request }) => {
        const dimension = parseQuery(dimensionParam, params.dimension);
        const q = parseQuery(breakdownQuery, query);
        const range = rangeOf(q, Date.now());
        return deps.stats.breakdown(await linkOf(request, codeOf(params)), dimension, range, q.limit);
      },
      {
        detail: documented({
          summary: "A link's clicks by country, referrer, device, browser, os, language or bot",
          auth: true,
          path: { dimension: { description: DIMENSIONS.join(", ") } },
          query: breakdownQuery,
          responses: { 200: breakdownView },
          errors: [400, 401, 404, 429, 503],
        }),
      },
    );
}
