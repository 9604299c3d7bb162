import { Elysia } from "elysia";
import { AppError } from "../../errors";
import type { TopologyView } from "../../topology/topology-view";

/** GET /api/topology: the ring version and phase, each instance's acknowledged version, the mover's progress. */
export function topologyRoutes(deps: { view: () => Promise<TopologyView> }) {
  return new Elysia({ name: "topology" }).get("/api/topology", async () => {
    try {
      return await deps.view();
    } catch (error) {
      throw new AppError("storage-unavailable", "the ring catalog (shard 0) is unreachable; try again", { retryable: true, retryAfterSeconds: 1, cause: error });
    }
  });
}
