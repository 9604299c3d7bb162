import fc from "fast-check";

/**
 * Request targets that RFC 3986 normalisation (what HAProxy's normalize-uri does at the edge)
 * turns back into `/<segments>`: letters and digits percent-encoded in either hex case,
 * `.` segments (also `%2e`), `<junk>/..` detours (also `%2e%2e`, `.%2E`), `..` above the root,
 * doubled slashes, a trailing `/`, `/.` or `/%2e`.
 *
 * @example fc.sample(pathSpelling(["health", "live"]), 3) // ["/health/./live", "//%68ealth/x/%2e%2e/live", ...]
 */
export function pathSpelling(segments: readonly string[]): fc.Arbitrary<string> {
  const hex = (c: string, upper: boolean) => {
    const h = c.charCodeAt(0).toString(16).padStart(2, "0");
    return `%${upper ? h.toUpperCase() : h}`;
  };
  const spelled = (segment: string) =>
    fc.array(fc.constantFrom("plain", "lower", "upper"), { minLength: segment.length, maxLength: segment.length }).map((how) =>
      [...segment].map((c, i) => (how[i] === "plain" ? c : hex(c, how[i] === "upper"))).join(""),
    );
  const dot = fc.constantFrom(".", "%2e", "%2E");
  const dotdot = fc.constantFrom("..", "%2e%2e", "%2E%2E", ".%2e", "%2E.");
  const junk = fc.stringMatching(/^[a-z0-9_~-]{1,6}$/).filter((s) => s !== "." && s !== "..");
  // Tokens between the real segments: each leaves the path as it was once resolved.
  const detour = fc.oneof(
    dot.map((d) => [d]),
    fc.tuple(junk, dotdot).map(([j, d]) => [j, d]),
    fc.constant([""]), // an empty segment: a doubled slash
  );
  const detours = fc.array(detour, { maxLength: 2 }).map((ds) => ds.flat());
  const aboveRoot = fc.array(dotdot, { maxLength: 2 });
  const trailing = fc.constantFrom("", "/", "/.", "/%2e", "/%2E");
  return fc
    .tuple(aboveRoot, fc.tuple(...segments.map((s) => fc.tuple(detours, spelled(s)))), trailing)
    .map(([up, parts, tail]) => `/${[...up, ...parts.flatMap(([ds, s]) => [...ds, s])].join("/")}${tail}`);
}

/**
 * Targets around a `metrics` segment, with path pieces that confuse parsers before and after it
 * (dots, encoded dots and slashes, backslashes, `;`, `%`, case) and an optional query: for
 * properties that must hold for every path, not only for the spellings pathSpelling makes.
 */
export const noisyTarget: fc.Arbitrary<string> = (() => {
  const noise = fc.array(fc.constantFrom("/", "/.", "/..", "/%2e", "/%2E%2e", "/.%2e", "/x", "/api", "%2f", "%2F", "\\", "%5c", ";", ".", "%"), { maxLength: 3 });
  const metrics = fc.oneof({ weight: 3, arbitrary: fc.constant("/metrics") }, fc.constantFrom("/METRICS", "/%6detrics", "/metric%73", "metrics"));
  const query = fc.constantFrom("", "?", "?x=1", "?/../metrics");
  return fc.tuple(noise, metrics, noise, query).map(([before, m, after, q]) => {
    const path = [...before, m, ...after].join("");
    return `${path.startsWith("/") ? "" : "/"}${path}${q}`;
  });
})();
