import { Elysia } from "elysia";
import { AppError } from "../../errors";
import { requireKey } from "../keys/auth";
import type { CreateBudget } from "../ratelimit/create-budget";
import { readJsonBody } from "../../http/json-body";
import type { rateGate } from "../ratelimit/rate-gate";
import { checkAlias } from "../../domain/alias";
import type { StoredLink } from "../../storage/link-rows";
import type { KeyRing } from "../keys/key-ring";
import { importLinks } from "./link-import";
import type { LinkManager } from "./link-manager";
import type { CreateOptions, LinkService } from "./link-service";
import { BULK_BODY_BYTES, bulkBody, futureDate, listQuery, parseBody, parseQuery, patchLinkBody } from "./schema";

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
}

/** The JSON a key sees of its link. */
export function linkJson(link: StoredLink & { clicks?: number }, publicBaseUrl: string) {
  return {
    short_code: link.code,
    short_url: `${publicBaseUrl}/${link.code}`,
    long_url: link.longUrl,
    alias: link.alias,
    created_at: link.createdAt.toISOString(),
    updated_at: link.updatedAt.toISOString(),
    expires_at: link.expiresAt?.toISOString() ?? null,
    max_visits: link.maxVisits,
    visits: link.maxVisits === null ? null : link.visits,
    ...(link.clicks === undefined ? {} : { clicks: link.clicks }),
  };
}

/**
 * The management API under /api/links, for API keys only: list, details, edit, delete, bulk
 * create, NDJSON export and NDJSON/CSV import. Every route charges the key's own budget, and
 * bulk and import charge it once more for each item they try to create.
 */
export function manageRoutes(deps: ManageRoutesDeps) {
  const { manager, links, keys, gate } = deps;
  const authed = async (request: Request, set: { headers: Record<string, unknown> }) => {
    const principal = await requireKey(request, keys);
    Object.assign(set.headers, await gate(request, principal));
    return principal.keyId;
  };
  return new Elysia({ name: "manage" })
    .get("/api/links", async ({ request, query, set }) => {
      const owner = await authed(request, set);
      const q = parseQuery(listQuery, query);
      const page = await manager.list(owner, q.limit, q.cursor ?? null);
      return { links: page.links.map((l) => linkJson(l, deps.publicBaseUrl)), next_cursor: page.next };
    })
    .get("/api/links/export", async ({ request, set }) => {
      const owner = await authed(request, set);
      const encoder = new TextEncoder();
      const rows = manager.all(owner);
      // Pulled one page at a time as the client reads: memory stays flat however many links.
      const stream = new ReadableStream<Uint8Array>({
        async pull(controller) {
          const next = await rows.next().catch((error: unknown) => {
            controller.error(error);
            return null;
          });
          if (next === null) return;
          if (next.done) controller.close();
          else controller.enqueue(encoder.encode(`${JSON.stringify(linkJson(next.value, deps.publicBaseUrl))}\n`));
        },
      });
      return new Response(stream, { headers: { "content-type": "application/x-ndjson", ...(set.headers as Record<string, string>) } });
    })
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
              const alias = item.alias === undefined ? undefined : checkAlias(item.alias);
              if (alias && !alias.ok) throw new AppError("invalid-body", alias.reason);
              const link = await create(item.url, { owner, alias: alias?.alias, expiresAt: futureDate(item.expires_at, now), maxVisits: item.max_visits });
              return { index, short_code: link.code, short_url: `${deps.publicBaseUrl}/${link.code}`, long_url: link.longUrl, created: link.created };
            } catch (error) {
              const e = error instanceof AppError ? error : new AppError("internal", "internal error", { cause: error });
              return { index, error: { code: e.code, message: e.message } };
            }
          }),
        );
        Object.assign(set.headers, budget.headers());
        return { results, created: results.filter((r) => "created" in r && r.created).length, failed: results.filter((r) => "error" in r).length };
      },
      { parse: "none" },
    )
    .post(
      "/api/links/import",
      async ({ request, set }) => {
        const owner = await authed(request, set);
        const budget = deps.budgetFor(owner);
        const outcome = await importLinks(request, deps.maxImportBytes, budget.charged((url, options) => links.create(url, { owner, ...options })));
        Object.assign(set.headers, budget.headers());
        set.status = outcome.status;
        return outcome.body;
      },
      { parse: "none" },
    )
    .get("/api/links/:code", async ({ request, params, set }) => {
      const owner = await authed(request, set);
      return linkJson(await manager.get(owner, String(params.code ?? "")), deps.publicBaseUrl);
    })
    .patch(
      "/api/links/:code",
      async ({ request, params, set }) => {
        const owner = await authed(request, set);
        const body = parseBody(patchLinkBody, await readJsonBody(request, deps.maxBodyBytes));
        const link = await manager.update(owner, String(params.code ?? ""), { url: body.url, expiresAt: futureDate(body.expires_at, Date.now()), maxVisits: body.max_visits });
        return linkJson(link, deps.publicBaseUrl);
      },
      { parse: "none" },
    )
    .delete("/api/links/:code", async ({ request, params, set }) => {
      const owner = await authed(request, set);
      await manager.remove(owner, String(params.code ?? ""));
      set.status = 204;
      return null;
    });
}
