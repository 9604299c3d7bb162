import { Elysia } from "elysia";
import type { PrometheusMetrics } from "../../observability/prometheus";

/** GET /metrics (Prometheus text) and GET /api/metrics (the last figures pushed to dashboards). */
export function observabilityRoutes(deps: { prometheus: PrometheusMetrics; latest: () => object | null }) {
  return new Elysia({ name: "observability" })
    .get("/metrics", async ({ set }) => {
      set.headers["content-type"] = deps.prometheus.contentType;
      return deps.prometheus.text();
    })
    .get("/api/metrics", () => deps.latest() ?? { pending: true });
}
