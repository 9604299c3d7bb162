import { Elysia } from "elysia";
import { z } from "zod";
import { documented, errorOr } from "../../http/api-doc";
import { reportedError } from "../../http/error-handler";
import { pulledBody } from "../../http/pulled-body";
import type { Logger } from "../../observability/logger";
import { requireKey } from "../keys/auth";
import type { CreateBudget } from "../ratelimit/create-budget";
import { readJsonBody } from "../../http/json-body";
import type { rateGate } from "../ratelimit/rate-gate";
import type { KeyRing } from "../keys/key-ring";
import { importLinks } from "./link-import";
import type { LinkManager } from "./link-manager";
import type { CreateOptions, LinkService } from "./link-service";
import { aliasOf, BULK_BODY_BYTES, bulkBody, futureDate, listQuery, parseBody, parseQuery, patchLinkBody } from "./schema";
import { qrImage, qrQuery, scanUrl } from "./qr-codes";
import { hashPassword } from "./password-gate";
import { bulkView, createdJson, importStoppedView, importSummaryView, linkJson, linkPage, linkView, shortUrl, tagsView } from "./views";

export interface ManageRoutesDeps {
  manager: LinkManager;
  links: LinkService;
  keys: KeyRing;
  gate: ReturnType<typeof rateGate>;
  /** Charges each link a bulk or import call creates to the key's budget. */
  budgetFor: (keyId: string) => CreateBudget;
  publicBaseUrl: string;
  maxBodyBytes: number;
  /** IMPORT_MAX_BYTES: the largest import body. */
  maxImportBytes: number;
  /** Where a bulk or import item's unknown error is logged (the HTTP error mapper's logger). */
  logger: Logger;
  /** Clicks and humans of a page of links; a failure shows the page without them. */
  countsOf: (codes: readonly string[]) => Promise<Map<string, { clicks: number; humans: number }>>;
}

/**
 * The management API under /api/links, for API keys only: list, details, edit, delete, bulk
 * create, NDJSON export and NDJSON/CSV import. Every route charges the key's own budget, and
 * bulk and import charge it once more for each item they try to create.
 */
export function manageRoutes(deps: ManageRoutesDeps) {
  const { manager, links, keys, gate } = deps;
  const report = (error: unknown) => reportedError(error, undefined, deps.logger);
  const authed = async (request: Request, set: { headers: Record<string, unknown> }) => {
    const principal = await requireKey(request, keys);
    Object.assign(set.headers, await gate(request, principal));
    return principal.keyId;
  };
  return new Elysia({ name: "manage" })
    .get("/api/links", async ({ request, query, set }) => {
      const owner = await authed(request, set);
      const q = parseQuery(listQuery, query);
      const page = await manager.list(owner, q.limit, q.cursor ?? null, { q: q.q === "" ? undefined : q.q, tag: q.tag });
      const counts = await deps.countsOf(page.links.map((l) => l.code)).catch(() => null);
      return { links: page.links.map((l) => linkJson({ ...l, ...counts?.get(l.code) }, deps.publicBaseUrl)), next_cursor: page.next };
    }, { detail: documented({ summary: "The key's links, newest first; q searches, tag filters", auth: true, query: listQuery, responses: { 200: linkPage }, errors: [400, 401, 429, 503] }) })
    .get("/api/tags", async ({ request, set }) => {
      const owner = await authed(request, set);
      return { tags: await manager.tags(owner) };
    }, { detail: documented({ summary: "The key's tags with how many links carry each", auth: true, responses: { 200: tagsView }, errors: [401, 429, 503] }) })
    .get("/api/links/export", async ({ request, set }) => {
      const owner = await authed(request, set);
      // Pulled one page at a time as the client reads: memory stays flat however many links.
      const stream = await pulledBody(manager.all(owner), (link) => `${JSON.stringify(linkJson(link, deps.publicBaseUrl))}\n`);
      return new Response(stream, { headers: { "content-type": "application/x-ndjson", ...(set.headers as Record<string, string>) } });
    }, { detail: documented({ summary: "Every link of the key as NDJSON (streamed)", auth: true, responses: { 200: { description: "one link per line", media: { "application/x-ndjson": linkView } } }, errors: [401, 429, 503] }) })
    .post(
      "/api/links/bulk",
      async ({ request, set }) => {
        const owner = await authed(request, set);
        const body = parseBody(bulkBody, await readJsonBody(request, Math.max(deps.maxBodyBytes, BULK_BODY_BYTES)));
        const now = Date.now();
        const budget = deps.budgetFor(owner);
        const create = budget.charged((url: string, options: CreateOptions) => links.create(url, options));
        // All at once: the creates for one shard meet in the group commit and go in multi-row
        // statements, and the budget reserves for all of them in one call.
        const results = await Promise.all(
          body.links.map(async (item, index) => {
            try {
              const alias = item.alias === undefined ? undefined : aliasOf(item.alias);
              const link = await create(item.url, { owner, alias, expiresAt: futureDate(item.expires_at, now), maxVisits: item.max_visits, title: item.title, tags: item.tags, forwardQuery: item.forward_query, rules: item.rules });
              return { index, ...createdJson(link, deps.publicBaseUrl) };
            } catch (error) {
              const e = report(error);
              return { index, error: { code: e.code, message: e.message } };
            }
          }),
        );
        Object.assign(set.headers, budget.headers());
        return { results, created: results.filter((r) => "created" in r && r.created).length, failed: results.filter((r) => "error" in r).length };
      },
      {
        parse: "none",
        detail: documented({ summary: "Create up to 1,000 links", description: "Each item as POST /create; an item's error does not stop the others.", auth: true, body: bulkBody, responses: { 200: bulkView.meta({ description: "per-item results, in order" }) }, errors: [400, 401, 413, 415, 429] }),
      },
    )
    .post(
      "/api/links/import",
      async ({ request, set }) => {
        const owner = await authed(request, set);
        const budget = deps.budgetFor(owner);
        const findOwn = (code: string) => manager.owned(owner, code).then((l) => ({ longUrl: l.longUrl }), () => null);
        const outcome = await importLinks(request, deps.maxImportBytes, budget.charged((url, options) => links.create(url, { owner, ...options })), findOwn, report);
        Object.assign(set.headers, budget.headers());
        set.status = outcome.status;
        return outcome.body;
      },
      {
        parse: "none",
        detail: documented({
          summary: "Create links from NDJSON or CSV (streamed)",
          description: "Each record as POST /create; a bad record is counted and reported, never stops the rest. A CSV syntax error or a stream past IMPORT_MAX_BYTES stops it with the summary so far.",
          auth: true,
          body: { media: { "application/x-ndjson": z.string(), "text/csv": z.string() } },
          responses: {
            200: importSummaryView.meta({ description: "created, duplicate, invalid, failed and the first errors" }),
            400: errorOr(importStoppedView.meta({ description: "a CSV header or syntax error: the summary so far, error and stopped_at_line" })),
            413: errorOr(importStoppedView.meta({ description: "over IMPORT_MAX_BYTES: nothing imported (declared length), or the summary so far (streamed)" })),
          },
          errors: [401, 415, 429],
        }),
      },
    )
    .get("/api/links/:code/qr", async ({ request, params, query, set }) => {
      const owner = await authed(request, set);
      const options = parseQuery(qrQuery, query);
      const link = await manager.owned(owner, String(params.code ?? ""));
      const image = await qrImage(scanUrl(shortUrl(deps.publicBaseUrl, link.code)), options);
      // The image depends only on the code and the options: private (it is the owner's), revalidated by ETag.
      const headers = { ...(set.headers as Record<string, string>), etag: image.etag, "cache-control": "private, max-age=86400" };
      if (request.headers.get("if-none-match") === image.etag) return new Response(null, { status: 304, headers });
      return new Response(image.body, { headers: { ...headers, "content-type": image.type } });
    }, {
      detail: documented({
        summary: "A QR code of the link's short URL",
        description: "The encoded URL ends in ?qr=1: scans are counted as the analytics dimension source = qr.",
        auth: true,
        query: qrQuery,
        responses: { 200: { description: "the image", media: { "image/svg+xml": z.string(), "image/png": z.string() } }, 304: { description: "not modified (If-None-Match)" } },
        errors: [400, 401, 404, 429, 503],
      }),
    })
    .get("/api/links/:code", async ({ request, params, set }) => {
      const owner = await authed(request, set);
      return linkJson(await manager.get(owner, String(params.code ?? "")), deps.publicBaseUrl);
    }, { detail: documented({ summary: "A link's details", auth: true, responses: { 200: linkView }, errors: [401, 404, 429, 503] }) })
    .patch(
      "/api/links/:code",
      async ({ request, params, set }) => {
        const owner = await authed(request, set);
        const body = parseBody(patchLinkBody, await readJsonBody(request, deps.maxBodyBytes));
        const link = await manager.update(owner, String(params.code ?? ""), { url: body.url, expiresAt: futureDate(body.expires_at, Date.now()), maxVisits: body.max_visits, title: body.title, tags: body.tags, forwardQuery: body.forward_query, rules: body.rules, passwordHash: body.password === undefined || body.password === null ? body.password : await hashPassword(body.password) });
        return linkJson(link, deps.publicBaseUrl);
      },
      { parse: "none", detail: documented({ summary: "Edit a link", auth: true, body: patchLinkBody, responses: { 200: linkView.meta({ description: "the link after the edit" }) }, errors: [400, 401, 404, 413, 415, 429, 503] }) },
    )
    .delete("/api/links/:code", async ({ request, params, set }) => {
      const owner = await authed(request, set);
      await manager.remove(owner, String(params.code ?? ""));
      set.status = 204;
      return null;
    }, { detail: documented({ summary: "Delete a link", auth: true, responses: { 204: { description: "deleted" } }, errors: [401, 404, 429, 503] }) });
}
