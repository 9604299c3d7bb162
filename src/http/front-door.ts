import type { Server } from "bun";
import { SpanKind } from "@opentelemetry/api";
import type { Logger } from "../observability/logger";
import type { PrometheusMetrics } from "../observability/prometheus";
import type { Tracing } from "../observability/tracing";
import { errorResponse } from "./error-handler";
import { routeLabel } from "./route-label";
import type { HubSocketData, WsGateway } from "./ws-gateway";

/**
 * Bun.serve's fetch: /ws upgrades go to the WebSocket gateway, a plain `GET /{code}` straight to
 * the redirect handler, every other request to the Elysia app; all timed at the edge for the
 * request metrics. The same function serves production and the
 * in-process tests (`frontDoor(...)(request)`, no server: no upgrades), so nothing per request
 * lives elsewhere.
 */
export function frontDoor(deps: {
  gateway: WsGateway;
  app: { fetch(request: Request): Response | Promise<Response> };
  /** Requests one handler answers without the router (the redirect: see redirect-route.ts). */
  direct: { match(request: Request): string | null; handle(code: string, request: Request): Response | Promise<Response> };
  prometheus: PrometheusMetrics;
  tracing: Tracing;
  logger: Logger;
}) {
  const { gateway, app, direct, prometheus, tracing, logger } = deps;
  const failed = (error: unknown) => errorResponse(error, undefined, logger);
  const route = (request: Request): Response | Promise<Response> => {
    const code = direct.match(request);
    if (code === null) return app.fetch(request);
    try {
      const response = direct.handle(code, request);
      return response instanceof Promise ? response.catch(failed) : response;
    } catch (error) {
      return failed(error);
    }
  };
  // Synchronous when the route is: a link held in memory is answered without a promise.
  const serve = (request: Request): Response | Promise<Response> => {
    const started = performance.now();
    const record = (response: Response) => {
      prometheus.observe(routeLabel(request.url), request.method, response.status, (performance.now() - started) / 1000);
      return response;
    };
    const response = route(request);
    return response instanceof Promise ? response.then(record) : record(response);
  };
  // A server span per request when tracing is on; every Redis/PostgreSQL call inside is its child.
  const traced = (request: Request) =>
    tracing.span(
      `${request.method} ${routeLabel(request.url)}`,
      { "http.request.method": request.method, "url.path": request.url.slice(request.url.indexOf("/", request.url.indexOf("//") + 2)) },
      async (span) => {
        const response = await serve(request);
        span?.setAttribute("http.response.status_code", response.status);
        return response;
      },
      SpanKind.SERVER,
    );
  return (request: Request, server?: Server<HubSocketData>): Response | Promise<Response | undefined> => {
    if (server && gateway.isStreamRequest(request)) return gateway.upgrade(request, server).catch((error: unknown) => errorResponse(error, undefined, logger));
    return tracing.enabled ? traced(request) : serve(request);
  };
}
