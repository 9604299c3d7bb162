import { z } from "zod";

/**
 * The event contract (docs/api.md, "Event stream protocol"). Every read and write becomes one of these; the dashboard and
 * load tools read them, so the tests validate every event against this schema.
 */
export const cacheMetricsSchema = z.object({
  cache_hit_count: z.number().int().nonnegative(),
  cache_miss_count: z.number().int().nonnegative(),
  cache_total: z.number().int().nonnegative(),
  cache_hit_rate: z.number().min(0).max(1),
  cache_miss_rate: z.number().min(0).max(1),
});

const common = {
  event_id: z.string().min(1),
  status: z.enum(["OK", "ERROR", "NOT_FOUND", "GONE"]),
  node: z.string().min(1),
  redis: z.string().nullable(),
  db: z.string().nullable(),
  short_code: z.string().nullable(),
  latency_ms: z.number().nonnegative(),
};

export const writeEventSchema = z.strictObject({ ...common, type: z.literal("write") });

export const readEventSchema = z.strictObject({
  ...common,
  type: z.literal("read"),
  cache: z.enum(["HIT", "MISS"]),
  source: z.enum(["memory", "redis", "replica", "primary", "none", "error"]),
  /** Added later (additive): the index of the redirect rule that chose the target; null for the link's own URL. */
  rule: z.number().int().nonnegative().nullable(),
  ...cacheMetricsSchema.shape,
  cache_metrics: cacheMetricsSchema,
});

/** Added later (additive): an owner edited or deleted a link. */
export const changeEventSchema = z.strictObject({ ...common, type: z.enum(["update", "delete"]) });

/** Added later (additive): a redirect's click once the worker pool has enriched it. */
export const clickEventSchema = z.strictObject({
  ...common,
  type: z.literal("click"),
  country: z.string(),
  referrer: z.string(),
  device: z.enum(["desktop", "mobile", "tablet", "other"]),
  browser: z.string(),
  os: z.string(),
  bot: z.boolean(),
});

export const linkEventSchema = z.union([writeEventSchema, readEventSchema, changeEventSchema, clickEventSchema]);

export type WriteEvent = z.infer<typeof writeEventSchema>;
export type ReadEvent = z.infer<typeof readEventSchema>;
export type LinkEvent = z.infer<typeof linkEventSchema>;
