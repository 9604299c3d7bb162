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

/**
 * The metrics label of a request's route, from its path alone, built from the routes the app
 * registered (so it cannot drift from them). Request metrics are taken at the server edge rather
 * than in Elysia hooks (which cost a WeakMap entry and a setImmediate per request), so the route
 * is worked out here. Labels stay few whatever paths clients send: a path no route takes is
 * `unmatched`, and everything under a `group` prefix (the dashboard's files) is `<prefix>/*`.
 *
 * @example
 *   const label = routeLabeler(["/create", "/api/links/:code"], ["/dashboard"]);
 *   label("/api/links/abc"); // "/api/links/:code"
 */
export function routeLabeler(routes: readonly string[], groups: readonly string[] = []): (path: string) => string {
  const inGroup = (path: string) => groups.find((g) => path === g || path.startsWith(`${g}/`));
  const exact = new Set<string>();
  const patterns: string[][] = [];
  for (const route of new Set(routes)) {
    if (inGroup(route)) continue;
    if (/[:*]/.test(route)) patterns.push(route.split("/"));
    else exact.add(route);
  }
  // Most literal segments first: "/api/links/:code" must not take what a more literal route would.
  const literals = (p: string[]) => p.filter((s) => !s.startsWith(":")).length;
  patterns.sort((a, b) => literals(b) - literals(a));
  return (path) => {
    if (exact.has(path)) return path;
    const group = inGroup(path);
    if (group !== undefined) return `${group}/*`;
    const segments = path.split("/");
    for (const p of patterns) {
      if (p.length === segments.length && p.every((s, i) => (s.startsWith(":") ? segments[i]!.length > 0 : s === segments[i]))) return p.join("/");
    }
    return "unmatched";
  };
}
