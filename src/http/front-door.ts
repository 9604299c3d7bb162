import type { Server } from "bun";
import type { HubSocketData, WsHub } from "../events/ws-hub";
import type { PrometheusMetrics } from "../observability/prometheus";
import { routeLabel } from "./route-label";

/**
 * Bun.serve's fetch: /ws upgrades go to the WebSocket hub, every other request to the Elysia
 * app, timed at the edge for the request metrics. The same function serves production and the
 * in-process tests (`frontDoor(...)(request)`, no server: no upgrades), so nothing per request
 * lives elsewhere.
 */
export function frontDoor(deps: { hub: WsHub; app: { fetch(request: Request): Response | Promise<Response> }; prometheus: PrometheusMetrics }) {
  const { hub, app, prometheus } = deps;
  return async (request: Request, server?: Server<HubSocketData>): Promise<Response | undefined> => {
    if (server && hub.upgrade(request, server)) return undefined;
    const started = performance.now();
    const response = await app.fetch(request);
    prometheus.observe(routeLabel(request.url), request.method, response.status, (performance.now() - started) / 1000);
    return response;
  };
}
