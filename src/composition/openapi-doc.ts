import { z } from "zod";
import { statsQuery } from "../modules/clicks/routes";
import { bulkBody, createLinkBody, listQuery, patchLinkBody } from "../modules/links/schema";

/**
 * The OpenAPI paths of the API, built from the same zod schemas that validate requests
 * (z.toJSONSchema), so the spec and the validation cannot drift. Served by @elysiajs/openapi at
 * /openapi.json (this object overrides its inferred, schema-less entries) with a docs page at /docs.
 */
const json = (schema: z.ZodType) => ({ "application/json": { schema: z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) } });
const params = (schema: z.ZodObject) =>
  Object.entries((z.toJSONSchema(schema, { io: "input" }) as { properties: Record<string, object> }).properties).map(([name, schema]) => ({ name, in: "query", required: false, schema }));
const codeParam = { name: "code", in: "path", required: true, schema: { type: "string", pattern: "^[A-Za-z0-9_-]{1,64}$" }, description: "a generated code or an alias" };
const bearer = [{ apiKey: [] }];

const errorBody = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
const link = z.object({
  short_code: z.string(),
  short_url: z.string(),
  long_url: z.string(),
  alias: z.boolean(),
  created_at: z.string(),
  updated_at: z.string(),
  expires_at: z.string().nullable(),
  max_visits: z.number().nullable(),
  visits: z.number().nullable(),
  clicks: z.number().optional(),
});
const created = z.object({ short_code: z.string(), short_url: z.string(), long_url: z.string(), created: z.boolean() });
const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [String(c), { description: "error", content: json(errorBody) }]));

export const OPENAPI_PATHS = {
  "/create": {
    post: {
      summary: "Shorten a URL",
      description: "Anonymous unless ANONYMOUS_CREATE=false; alias, expires_at and max_visits need no dedupe, alias needs an API key.",
      requestBody: { required: true, content: json(createLinkBody) },
      responses: { "201": { description: "created", content: json(created) }, "200": { description: "already shortened (same owner)", content: json(created) }, ...errors(400, 401, 409, 413, 415, 429, 503) },
    },
  },
  "/{code}": {
    get: {
      summary: "Redirect",
      parameters: [{ ...codeParam, schema: { type: "string" } }],
      responses: { "302": { description: "redirect to the long URL" }, ...errors(404, 410, 429, 503) },
    },
  },
  "/api/links": {
    get: { summary: "The key's links, newest first", security: bearer, parameters: params(listQuery), responses: { "200": { description: "a page", content: json(z.object({ links: z.array(link), next_cursor: z.string().nullable() })) }, ...errors(400, 401, 429) } },
  },
  "/api/links/{code}": {
    get: { summary: "A link's details", security: bearer, parameters: [codeParam], responses: { "200": { description: "the link", content: json(link) }, ...errors(401, 404) } },
    patch: { summary: "Edit a link", security: bearer, parameters: [codeParam], requestBody: { required: true, content: json(patchLinkBody) }, responses: { "200": { description: "the link after the edit", content: json(link) }, ...errors(400, 401, 404) } },
    delete: { summary: "Delete a link", security: bearer, parameters: [codeParam], responses: { "204": { description: "deleted" }, ...errors(401, 404) } },
  },
  "/api/links/{code}/stats": {
    get: {
      summary: "A link's clicks",
      security: bearer,
      parameters: [codeParam, ...params(statsQuery)],
      responses: { "200": { description: "total and series", content: json(z.object({ code: z.string(), total: z.number(), granularity: z.string(), series: z.array(z.object({ at: z.string(), clicks: z.number() })) })) }, ...errors(400, 401, 404) },
    },
  },
  "/api/links/bulk": {
    post: { summary: "Create up to 1,000 links", security: bearer, requestBody: { required: true, content: json(bulkBody) }, responses: { "200": { description: "per-item results, in order" }, ...errors(400, 401) } },
  },
  "/api/links/export": {
    get: { summary: "Every link of the key as NDJSON (streamed)", security: bearer, responses: { "200": { description: "one link JSON per line", content: { "application/x-ndjson": { schema: z.toJSONSchema(link) } } }, ...errors(401) } },
  },
  "/api/links/import": {
    post: {
      summary: "Create links from NDJSON or CSV (streamed)",
      security: bearer,
      requestBody: { required: true, content: { "application/x-ndjson": { schema: { type: "string" } }, "text/csv": { schema: { type: "string" } } } },
      responses: {
        "200": { description: "created, duplicate, invalid, failed and the first errors, in line order" },
        "400": { description: "CSV header or syntax error: the summary so far, error and stopped_at_line" },
        "413": { description: "over IMPORT_MAX_BYTES: nothing created (declared length), or the summary so far, error and stopped_at_line (streamed)" },
        ...errors(401, 415),
      },
    },
  },
  "/api/topology": { get: { summary: "The ring: version, phase, instances, re-sharding progress (admin key, unless OBSERVABILITY_PUBLIC)", security: bearer, responses: { "200": { description: "the topology view" }, ...errors(401, 403, 503) } } },
  "/api/metrics": { get: { summary: "The last cache and click figures pushed to dashboards (admin key, unless OBSERVABILITY_PUBLIC)", security: bearer, responses: { "200": { description: "instance and cluster figures" }, ...errors(401, 403) } } },
  "/metrics": {
    get: { summary: "Prometheus metrics (admin key, unless OBSERVABILITY_PUBLIC; scrapers use the METRICS_PORT listener)", security: bearer, responses: { "200": { description: "Prometheus text" }, ...errors(401, 403) } },
  },
  "/health/live": { get: { summary: "Liveness", responses: { "200": { description: "the process answers" } } } },
  "/health/ready": { get: { summary: "Readiness with every node's state", responses: { "200": { description: "takes traffic" }, "503": { description: "starting, draining or no writable primary" } } } },
} as const;

export const OPENAPI_DOCUMENTATION = {
  info: { title: "Shorten", version: "1.0.0", description: "A distributed URL shortener: short links, their owners' management API, clicks and the cluster's topology." },
  components: { securitySchemes: { apiKey: { type: "http", scheme: "bearer", description: "an API key (bun run keys create); X-API-Key works too" } } },
  paths: OPENAPI_PATHS,
};
