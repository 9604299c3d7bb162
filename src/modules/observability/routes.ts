import { Elysia } from "elysia";
import { z } from "zod";
import { documented } from "../../http/api-doc";
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
    }, {
      detail: documented({
        summary: "Prometheus metrics",
        description: "Admin key, unless OBSERVABILITY_PUBLIC; scrapers use the METRICS_PORT listener.",
        auth: true,
        responses: { 200: { description: "Prometheus text exposition", media: { "text/plain": z.string() } } },
        errors: [401, 403, 429],
      }),
    })
    .get("/api/metrics", async ({ request }) => {
      await deps.access.requireObserver(request);
      return deps.latest() ?? { pending: true };
    }, {
      detail: documented({
        summary: "The last cache and click figures pushed to dashboards",
        description: "Admin key, unless OBSERVABILITY_PUBLIC. `pending` until the first push.",
        auth: true,
        responses: { 200: z.union([z.object({ pending: z.literal(true) }), z.looseObject({ at: z.number(), instance: z.looseObject({ node: z.string() }), cluster: z.looseObject({ source: z.enum(["redis", "local"]) }) })]) },
        errors: [401, 403, 429],
      }),
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
