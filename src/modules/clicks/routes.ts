import { Elysia } from "elysia";
import { z } from "zod";
import { AppError } from "../../errors";
import { requireAdmin } from "../../http/admin-token";
import type { ClickStats } from "./click-stats";

const statsQuery = z.object({ granularity: z.enum(["hour", "day"], { error: "granularity must be hour or day" }).default("hour") });

/** GET /api/links/{code}/stats?granularity=hour|day: a link's clicks (admin token). */
export function clickRoutes(deps: { stats: ClickStats; adminToken: string | undefined }) {
  return new Elysia({ name: "clicks" }).get("/api/links/:code/stats", async ({ params, query, request }) => {
    requireAdmin(request, deps.adminToken);
    const parsed = statsQuery.safeParse(query);
    if (!parsed.success) throw new AppError("invalid-query", parsed.error.issues[0]!.message);
    return deps.stats.of(typeof params.code === "string" ? params.code : "", parsed.data.granularity);
  });
}
