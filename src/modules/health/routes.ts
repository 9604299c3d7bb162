import { Elysia } from "elysia";
import type { ShardSet } from "../../storage/shard-set";
import { checkShards } from "./node-health";

export interface HealthDeps {
  shards: ShardSet;
  instanceId: number;
  /** False while starting or draining: the load balancer should send nothing here. */
  isAccepting: () => boolean;
}

/**
 * /health/live: the process answers. /health/ready: 200 while this instance takes traffic, with
 * every node's state; a down node makes the report "degraded", not the instance unready, because
 * reads and writes fall back around a single node.
 */
export function healthRoutes(deps: HealthDeps) {
  return new Elysia({ name: "health" })
    .get("/health/live", () => ({ status: "ok", instance: deps.instanceId }))
    .get("/health/ready", async ({ set }) => {
      const shards = await checkShards(deps.shards);
      const accepting = deps.isAccepting();
      const allUp = shards.every((s) => s.nodes.every((n) => n.up));
      const anyWritable = shards.some((s) => s.nodes.some((n) => n.role === "primary" && n.up));
      const ready = accepting && anyWritable;
      set.status = ready ? 200 : 503;
      return { status: !accepting ? "draining" : !anyWritable ? "unavailable" : allUp ? "ok" : "degraded", ready, instance: deps.instanceId, shards };
    });
}
