import { Elysia } from "elysia";
import type { ShardSet } from "../../storage/shard-set";
import { checkShards } from "./node-health";

export interface HealthDeps {
  shards: ShardSet;
  instanceId: number;
  /** Shards the ring uses now: nodes of other configured shards are reported but do not count. */
  inUse: () => readonly number[];
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
      const inUse = deps.inUse();
      const shards = (await checkShards(deps.shards)).map((s) => ({ ...s, in_ring: inUse.includes(s.shard) }));
      const accepting = deps.isAccepting();
      const used = shards.filter((s) => s.in_ring);
      const allUp = used.every((s) => s.nodes.every((n) => n.up));
      const anyWritable = used.some((s) => s.nodes.some((n) => n.role === "primary" && n.up));
      const ready = accepting && anyWritable;
      set.status = ready ? 200 : 503;
      return { status: !accepting ? "draining" : !anyWritable ? "unavailable" : allUp ? "ok" : "degraded", ready, instance: deps.instanceId, shards };
    });
}
