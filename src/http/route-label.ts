/**
 * The metrics label of a request's route, from its URL alone. Request metrics are taken at the
 * server edge rather than in Elysia hooks (which cost a WeakMap entry and a setImmediate per
 * request), so the route is worked out here; labels stay few whatever paths clients send.
 */
const STATIC_ROUTES = new Set(["/", "/create", "/health/live", "/health/ready", "/metrics", "/api/metrics", "/api/topology", "/api/links", "/api/links/export", "/api/links/bulk", "/api/links/import", "/openapi.json", "/docs", "/ws"]);

/**
 * Where the path of a request URL starts. Bun.serve builds `http://<Host header>/<target>` when
 * the Host header is usable, whatever its length (`http://x/create`), and leaves the bare target
 * (`/create`, even `//create`) when there is none (HTTP/1.0) or one it cannot parse (`Host: a/b`).
 */
export function pathStart(url: string): number {
  if (url.charCodeAt(0) === 47) return 0;
  const start = url.indexOf("/", url.indexOf("//") + 2);
  return start < 0 ? url.length : start;
}

/** The path of a request URL, without its query: read once per request by the front door. */
export function pathOf(url: string): string {
  const start = pathStart(url);
  if (start === url.length) return "/";
  const query = url.indexOf("?", start);
  return url.slice(start, query < 0 ? undefined : query);
}

export function routeLabel(path: string): string {
  if (STATIC_ROUTES.has(path)) return path;
  if (path === "/dashboard" || path.startsWith("/dashboard/")) return "/dashboard/*";
  if (path.startsWith("/api/links/")) return path.endsWith("/stats") ? "/api/links/:code/stats" : "/api/links/:code";
  return path.indexOf("/", 1) < 0 ? "/:code" : "unmatched";
}
