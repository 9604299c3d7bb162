import { z } from "zod";
import { ERROR_STATUS } from "../errors";

/**
 * A route's OpenAPI operation, written next to the route from the zod schemas it validates with
 * and answers in, and carried in the route's own `detail`: /openapi.json is compiled from the
 * registered routes (publishedPaths), so a route cannot be published without one, and the spec
 * cannot describe a route that does not exist.
 *
 * The schemas ride in `detail` rather than in Elysia's `body`/`query`/`response` hooks because
 * those hooks validate: bodies are read by our own reader (size limits, the closed error codes)
 * and validating responses would cost every request.
 */
export interface RouteDoc {
  summary: string;
  description?: string;
  /** The route takes an API key (Bearer or X-API-Key). */
  auth?: boolean;
  /** Path parameters; by default `{code}` for a `:code` segment. */
  path?: Record<string, { pattern?: string; description: string }>;
  query?: z.ZodObject;
  /** A JSON body, or bodies by media type (import takes NDJSON or CSV text). */
  body?: z.ZodType | { media: Record<string, z.ZodType> };
  /** Responses by status: a JSON schema, or a description and media type for other bodies. */
  responses: Record<number, z.ZodType | { description: string; media?: Record<string, z.ZodType> }>;
  /** Statuses that answer the error body of the closed code table (and nothing else). */
  errors?: readonly number[];
}

export const errorBody = z.object({
  error: z.object({ code: z.enum(Object.keys(ERROR_STATUS) as [keyof typeof ERROR_STATUS]), message: z.string() }),
});

// The `$schema` of each fragment is dropped: in an OpenAPI 3.1 document it is implied.
/** A status that answers either the error body or, having done part of the work, `schema`. */
export function errorOr(schema: z.ZodType): z.ZodType {
  return z.union([errorBody, schema]).meta({ description: schema.description ?? "an error, or the work done until it stopped" });
}

const toJson = (schema: z.ZodType, io: "input" | "output") => {
  const { $schema: _, ...json } = z.toJSONSchema(schema, { io, unrepresentable: "any" });
  return json;
};
const content = (media: Record<string, z.ZodType>, io: "input" | "output") => Object.fromEntries(Object.entries(media).map(([type, schema]) => [type, { schema: toJson(schema, io) }]));
const isSchema = (value: unknown): value is z.ZodType => value instanceof z.ZodType;

const CODE_PARAM = { pattern: "^[A-Za-z0-9_-]{1,64}$", description: "a generated code or an alias" };

/** The `detail` of a route: its OpenAPI operation. */
function routeDoc(doc: RouteDoc) {
  return (path: string) => {
    const names = [...path.matchAll(/:(\w+)/g)].map((m) => m[1]!);
    const parameters = [
      ...names.map((name) => {
        const p = doc.path?.[name] ?? (name === "code" ? CODE_PARAM : { description: name });
        return { name, in: "path", required: true, description: p.description, schema: { type: "string", ...(p.pattern ? { pattern: p.pattern } : {}) } };
      }),
      ...Object.entries((doc.query ? (toJson(doc.query, "input") as { properties?: Record<string, object> }).properties : undefined) ?? {}).map(([name, schema]) => ({ name, in: "query", required: false, schema })),
    ];
    const responses: Record<string, object> = {};
    for (const [status, body] of Object.entries(doc.responses)) {
      responses[status] = isSchema(body) ? { description: body.description ?? "success", content: content({ "application/json": body }, "output") } : { description: body.description, ...(body.media ? { content: content(body.media, "output") } : {}) };
    }
    for (const status of doc.errors ?? []) responses[String(status)] = { description: errorDescription(status), content: content({ "application/json": errorBody }, "output") };
    return {
      summary: doc.summary,
      ...(doc.description ? { description: doc.description } : {}),
      ...(doc.auth ? { security: [{ apiKey: [] }] } : {}),
      ...(parameters.length ? { parameters } : {}),
      ...(doc.body ? { requestBody: { required: true, content: isSchema(doc.body) ? content({ "application/json": doc.body }, "input") : content(doc.body.media, "input") } } : {}),
      responses,
    };
  };
}

function errorDescription(status: number): string {
  const codes = Object.entries(ERROR_STATUS)
    .filter(([, s]) => s === status)
    .map(([code]) => code);
  return codes.join(", ");
}

/** What Elysia keeps of a registered route. */
export interface RegisteredRoute {
  method: string;
  path: string;
  hooks?: { detail?: unknown };
}

/** A route's detail as routeDoc made it: the operation, once the path is known. */
type DocOf = (path: string) => object;

/**
 * The OpenAPI `paths` of the registered routes. Every route must carry a routeDoc unless it is
 * one of `unpublished` (pages, the stream, the spec itself): a route without one stops the build.
 */
export function publishedPaths(routes: readonly RegisteredRoute[], unpublished: (path: string) => boolean): Record<string, Record<string, object>> {
  const paths: Record<string, Record<string, object>> = {};
  for (const route of routes) {
    if (route.method === "HEAD" || route.method === "OPTIONS" || unpublished(route.path)) continue;
    const doc = (route.hooks?.detail as { doc?: DocOf } | undefined)?.doc;
    if (typeof doc !== "function") throw new Error(`route ${route.method} ${route.path} has no API doc (routeDoc): it cannot be published`);
    const template = route.path.replace(/:(\w+)/g, "{$1}");
    (paths[template] ??= {})[route.method.toLowerCase()] = doc(route.path);
  }
  return paths;
}

/** The route option that publishes a route: `{ detail: documented({...}) }`. */
export function documented(doc: RouteDoc): { doc: DocOf; hide: true } {
  // hide: the OpenAPI plugin's own inference skips the route; publishedPaths gives its entry.
  return { doc: routeDoc(doc), hide: true };
}
