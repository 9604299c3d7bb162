/**
 * The metrics label of a request's route, from its URL alone. Request metrics are taken at the
 * server edge rather than in Elysia hooks (which cost a WeakMap entry and a setImmediate per
 * request), so the route is worked out here; labels stay few whatever paths clients send.
 */
const STATIC_ROUTES = new Set(["/", "/create", "/health/live", "/health/ready", "/metrics", "/api/metrics", "/api/topology", "/api/links", "/api/links/export", "/api/links/bulk", "/api/links/import", "/openapi.json", "/docs", "/ws"]);

/** The path of a request URL, without its query: read once per request by the front door. */
export function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return "/";
  const query = url.indexOf("?", start);
  return url.slice(start, query < 0 ? undefined : query);
}

export function routeLabel(path: string): string {
  if (STATIC_ROUTES.has(path)) return path;
  if (path === "/dashboard" || path.startsWith("/dashboard/")) return "/dashboard/*";
  if (path.startsWith("/api/links/")) return path.endsWith("/stats") ? "/api/links/:code/stats" : "/api/links/:code";
  return path.indexOf("/", 1) < 0 ? "/:code" : "unmatched";
}
