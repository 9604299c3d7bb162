import { Elysia } from "elysia";
import { AppError } from "../../errors";
import type { AccessControl } from "../keys/access";
import type { TopologyView } from "../../topology/topology-view";

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
  });
}
