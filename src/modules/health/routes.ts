import { Elysia } from "elysia";
import { z } from "zod";
import { documented } from "../../http/api-doc";
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

const nodeView = z.object({
  name: z.string(),
  role: z.enum(["redis", "primary", "replica"]),
  up: z.boolean(),
  breaker: z.enum(["closed", "open", "half-open"]),
  latency_ms: z.number().nullable(),
  error: z.string().optional(),
});

export const readyView = z.object({
  status: z.enum(["ok", "degraded", "draining", "unavailable"]),
  ready: z.boolean(),
  instance: z.number(),
  shards: z.array(z.object({ shard: z.number(), in_ring: z.boolean(), nodes: z.array(nodeView) })),
});

/**
 * /health/live: the process answers. /health/ready: 200 while this instance takes traffic, with
 * every node's state; a down node makes the report "degraded", not the instance unready, because
 * reads and writes fall back around a single node.
 */
export function healthRoutes(deps: HealthDeps) {
  return new Elysia({ name: "health" })
    .get("/health/live", () => ({ status: "ok", instance: deps.instanceId }), {
      detail: documented({ summary: "Liveness: the process answers", responses: { 200: z.object({ status: z.literal("ok"), instance: z.number() }) } }),
    })
    .get("/health/ready", async ({ set }) => {
      const inUse = deps.inUse();
      const shards = (await checkShards(deps.shards)).map((s) => ({ ...s, in_ring: inUse.includes(s.shard) }));
      const accepting = deps.isAccepting();
      const used = shards.filter((s) => s.in_ring);
      const allUp = used.every((s) => s.nodes.every((n) => n.up));
      const anyWritable = used.some((s) => s.nodes.some((n) => n.role === "primary" && n.up));
      const ready = accepting && anyWritable;
      set.status = ready ? 200 : 503;
      const report: z.infer<typeof readyView> = { status: !accepting ? "draining" : !anyWritable ? "unavailable" : allUp ? "ok" : "degraded", ready, instance: deps.instanceId, shards };
      return report;
    }, { detail: documented({ summary: "Readiness, with every node's state", responses: { 200: readyView.meta({ description: "takes traffic" }), 503: readyView.meta({ description: "starting, draining or no writable primary" }) } }) });
}
