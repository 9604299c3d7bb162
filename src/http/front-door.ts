import type { Server } from "bun";
import { SpanKind } from "@opentelemetry/api";
import type { Logger } from "../observability/logger";
import type { PrometheusMetrics } from "../observability/prometheus";
import type { Tracing } from "../observability/tracing";
import { errorResponse } from "./error-handler";
import { pathOf, pathStart } from "./route-label";

/**
 * Where Elysia's router starts looking for the path's "/" in request.url: just past "http://"
 * (app.ts sets `handler.standardHostname: false`; Elysia's default, 11, assumes a Host of 4
 * characters or more).
 */
const ELYSIA_PATH_FROM = "http://".length;

/**
 * A request whose path Elysia's router finds where the front door did. Bun's URL is
 * `http://<host>/…` for any Host, which Elysia reads right; it is the bare target when the Host
 * header is missing (HTTP/1.0) or unusable, and such a request gets an absolute URL on a
 * placeholder host (RFC 6761's .invalid). The URL is set on the request itself: a copy would lose
 * the socket that server.requestIP (the client's rate-limit key) and server.upgrade need.
 */
function routable(request: Request): Request {
  const url = request.url;
  const start = pathStart(url);
  if (url.indexOf("/", ELYSIA_PATH_FROM) !== start) Object.defineProperty(request, "url", { value: `http://host.invalid${url.slice(start)}` });
  return request;
}

/** Who takes WebSocket upgrades (the stream module's gateway); the front door only hands them on. */
export interface StreamUpgrades<S> {
  isStreamRequest(request: Request, path: string): boolean;
  upgrade(request: Request, server: Server<S>): Promise<Response | undefined>;
}

/**
 * Bun.serve's fetch: /ws upgrades go to the WebSocket gateway, a plain `GET /{code}` straight to
 * the redirect handler, every other request to the Elysia app; all timed at the edge for the
 * request metrics. The same function serves production and the
 * in-process tests (`frontDoor(...)(request)`, no server: no upgrades), so nothing per request
 * lives elsewhere.
 */
export function frontDoor<S>(deps: {
  gateway: StreamUpgrades<S>;
  app: { fetch(request: Request): Response | Promise<Response> };
  /** Requests one handler answers without the router (the redirect: see redirect-route.ts). */
  direct: { match(method: string, path: string): string | null; handle(code: string, request: Request, method: string, url: string): Response | Promise<Response> };
  /** The metrics label of a path (routeLabeler over the app's routes). */
  label: (path: string) => string;
  prometheus: PrometheusMetrics;
  tracing: Tracing;
  logger: Logger;
}) {
  const { gateway, app, direct, label: routeLabel, prometheus, tracing, logger } = deps;
  const failed = (error: unknown) => errorResponse(error, undefined, logger);
  const handle = (code: string, request: Request, method: string, url: string): Response | Promise<Response> => {
    try {
      const response = direct.handle(code, request, method, url);
      return response instanceof Promise ? response.catch(failed) : response;
    } catch (error) {
      return failed(error);
    }
  };
  // Synchronous when the route is: a link held in memory is answered without a promise.
  // The request's method and URL are read once here and handed on: each read builds a new string.
  const serve = (request: Request, url: string, path: string): Response | Promise<Response> => {
    const started = performance.now();
    const method = request.method;
    const code = direct.match(method, path);
    const label = code === null ? routeLabel(path) : "/:code";
    const record = (response: Response) => {
      prometheus.observe(label, method, response.status, (performance.now() - started) / 1000);
      return response;
    };
    const response = code === null ? app.fetch(routable(request)) : handle(code, request, method, url);
    return response instanceof Promise ? response.then(record) : record(response);
  };
  // A server span per request when tracing is on; every Redis/PostgreSQL call inside is its child.
  const traced = (request: Request, url: string, path: string) =>
    tracing.span(
      `${request.method} ${routeLabel(path)}`,
      { "http.request.method": request.method, "url.path": url.slice(pathStart(url)) },
      async (span) => {
        const response = await serve(request, url, path);
        span?.setAttribute("http.response.status_code", response.status);
        return response;
      },
      SpanKind.SERVER,
    );
  return (request: Request, server?: Server<S>): Response | Promise<Response | undefined> => {
    const url = request.url;
    const path = pathOf(url);
    if (server && gateway.isStreamRequest(request, path)) return gateway.upgrade(routable(request), server).catch(failed);
    return tracing.enabled ? traced(request, url, path) : serve(request, url, path);
  };
}
