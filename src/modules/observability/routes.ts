import { Elysia } from "elysia";
import { AppError } from "../../errors";
import type { AccessControl } from "../keys/access";
import { errorResponse } from "../../http/error-handler";
import type { Logger } from "../../observability/logger";
import type { PrometheusMetrics } from "../../observability/prometheus";

/**
 * GET /metrics (Prometheus text) and GET /api/metrics (the last figures pushed to dashboards),
 * for admins (or anyone in public mode). A scraper that should not hold a key reads /metrics on
 * the loopback listener of METRICS_PORT instead (metricsListener).
 */
export function observabilityRoutes(deps: { prometheus: PrometheusMetrics; latest: () => object | null; access: AccessControl }) {
  return new Elysia({ name: "observability" })
    .get("/metrics", async ({ set, request }) => {
      await deps.access.requireObserver(request);
      set.headers["content-type"] = deps.prometheus.contentType;
      return deps.prometheus.text();
    })
    .get("/api/metrics", async ({ request }) => {
      await deps.access.requireObserver(request);
      return deps.latest() ?? { pending: true };
    });
}

/** The fetch of the METRICS_PORT listener: GET /metrics, nothing else, no credential. */
export function metricsListener(prometheus: PrometheusMetrics, logger: Logger) {
  return async (request: Request): Promise<Response> => {
    const path = new URL(request.url).pathname;
    if (request.method !== "GET" || path !== "/metrics") return errorResponse(new AppError("route-not-found", "this listener serves GET /metrics only"), undefined, logger);
    return new Response(await prometheus.text(), { headers: { "content-type": prometheus.contentType } });
  };
}
