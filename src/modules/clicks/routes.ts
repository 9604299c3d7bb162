import { Elysia } from "elysia";
import { z } from "zod";
import { documented } from "../../http/api-doc";
import type { AccessControl } from "../keys/access";
import { requireKey } from "../keys/auth";
import type { KeyRing } from "../keys/key-ring";
import type { LinkManager } from "../links/link-manager";
import { parseQuery } from "../links/schema";
import type { ClickStats } from "./click-stats";

export const statsQuery = z.object({ granularity: z.enum(["hour", "day"], { error: "granularity must be hour or day" }).default("hour") });

export const statsView = z.object({
  code: z.string(),
  total: z.number(),
  granularity: z.enum(["hour", "day"]),
  series: z.array(z.object({ at: z.string().meta({ description: "start of the hour or day, UTC" }), clicks: z.number() })),
});

/**
 * GET /api/links/{code}/stats?granularity=hour|day: a link's clicks, for the key that owns it
 * (another key's link is 404) or for an admin (the admin token or an admin key).
 */
export function clickRoutes(deps: { stats: ClickStats; access: AccessControl; keys: KeyRing; manager: LinkManager }) {
  return new Elysia({ name: "clicks" }).get("/api/links/:code/stats", async ({ params, query, request }) => {
    const { granularity } = parseQuery(statsQuery, query);
    const path = typeof params.code === "string" ? params.code : "";
    if (await deps.access.isAdmin(request)) return deps.stats.of(path, granularity);
    const principal = await requireKey(request, deps.keys);
    const link = await deps.manager.get(principal.keyId, path);
    return deps.stats.of(link.code, granularity);
  }, { detail: documented({ summary: "A link's clicks", description: "For the key that owns the link (another key's is 404) or an admin.", auth: true, query: statsQuery, responses: { 200: statsView }, errors: [400, 401, 404, 429, 503] }) });
}
