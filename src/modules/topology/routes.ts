import { Elysia } from "elysia";
import { z } from "zod";
import { documented } from "../../http/api-doc";
import { AppError } from "../../errors";
import type { AccessControl } from "../keys/access";
import type { TopologyView } from "../../topology/topology-view";

const topologyView = z.object({
  version: z.number(),
  phase: z.string(),
  members: z.array(z.number()),
  target: z.array(z.number()).nullable(),
  migration: z.object({ id: z.string(), kind: z.string() }).nullable(),
  instances: z.array(z.object({ instance: z.string(), version: z.number(), phase: z.string(), live: z.boolean(), error: z.string().nullable(), age_ms: z.number() })),
  progress: z.array(
    z.object({ step: z.string(), source: z.number(), table: z.string(), scanned: z.number(), total: z.number(), moved: z.number(), rows_per_s: z.number().nullable(), eta_s: z.number().nullable(), done: z.boolean() }),
  ),
  verify: z.unknown(),
  cleanup: z.unknown(),
});

/**
 * GET /api/topology: the ring version and phase, each instance's acknowledged version, the
 * mover's progress. Observability: admins only, unless OBSERVABILITY_PUBLIC.
 */
export function topologyRoutes(deps: { view: () => Promise<TopologyView>; access: AccessControl }) {
  return new Elysia({ name: "topology" }).get("/api/topology", async ({ request }) => {
    await deps.access.requireObserver(request);
    try {
      return await deps.view();
    } catch (error) {
      throw new AppError("storage-unavailable", "the ring catalog (shard 0) is unreachable; try again", { retryable: true, retryAfterSeconds: 1, cause: error });
    }
  }, {
    detail: documented({
      summary: "The ring: version, phase, instances, re-sharding progress",
      description: "Admin key, unless OBSERVABILITY_PUBLIC.",
      auth: true,
      responses: { 200: topologyView },
      errors: [401, 403, 429, 503],
    }),
  });
}
