import { Elysia } from "elysia";
import { z } from "zod";
import { blockEntryOf } from "../../domain/host-blocklist";
import { AppError } from "../../errors";
import { documented } from "../../http/api-doc";
import { readJsonBody } from "../../http/json-body";
import type { AccessControl } from "../keys/access";
import { parseBody, parseQuery } from "../links/schema";
import type { BlocklistSource } from "./blocklist-source";

const host = z.string({ error: "host must be a string" }).max(2048, "host must be at most 2048 characters");

export const blockBody = z.object({
  host: host.meta({ description: "a host or domain (it blocks its subdomains), an IP address, or a URL whose host is meant; any case, IDN or punycode" }),
  note: z.string({ error: "note must be a string" }).trim().max(500, "note must be at most 500 characters").optional().meta({ description: "why, for the other operators" }),
});

export const unblockQuery = z.object({ host: host.meta({ description: "the entry, in any spelling its POST accepted" }) });

const entryView = z.object({
  host: z.string(),
  source: z.enum(["file", "api"]).meta({ description: "BLOCKLIST_FILE, or added through this API" }),
  added_at: z.string().nullable(),
  note: z.string().nullable(),
});
export const blocklistView = z.object({ entries: z.array(entryView), total: z.number() });
const blockedView = z.object({ host: z.string().meta({ description: "the entry as stored: the normalised host" }), created: z.boolean() });

/** An entry as a person writes it, normalised as links are, or a 400 saying why not. */
function entryOf(raw: string): string {
  const entry = blockEntryOf(raw);
  if (!entry.ok) throw new AppError("invalid-body", `host: ${entry.reason}`);
  return entry.host;
}

/**
 * The operators' blocklist (admin keys or ADMIN_TOKEN): GET lists the entries of BLOCKLIST_FILE
 * and of the API, POST adds one, DELETE removes one the API added (a file's entries change with
 * the file). A change is enforced on every instance within BLOCKLIST_POLL_MS: creates of a
 * blocked URL are 400 `blocked-url`, and its existing links answer 451.
 */
export function blocklistRoutes(deps: { source: BlocklistSource; access: AccessControl; maxBodyBytes: number }) {
  const { source, access } = deps;
  return new Elysia({ name: "admin-blocklist" })
    .get(
      "/api/admin/blocklist",
      async ({ request }) => {
        await access.requireAdmin(request);
        const fromFile = [...source.fileEntries()].map((h) => ({ host: h, source: "file" as const, added_at: null, note: null }));
        const fromApi = [...source.catalogEntries().values()].map((e) => ({ host: e.host, source: "api" as const, added_at: e.addedAt.toISOString(), note: e.note }));
        const entries = [...fromFile, ...fromApi].sort((a, b) => (a.host === b.host ? a.source.localeCompare(b.source) : a.host < b.host ? -1 : 1));
        return { entries, total: entries.length };
      },
      { detail: documented({ summary: "The blocklist: hosts and domains no link may lead to", auth: true, responses: { 200: blocklistView }, errors: [401, 403] }) },
    )
    .post(
      "/api/admin/blocklist",
      async ({ request, set }) => {
        await access.requireAdmin(request);
        const body = parseBody(blockBody, await readJsonBody(request, deps.maxBodyBytes));
        const entry = entryOf(body.host);
        const created = await source.add(entry, body.note || null);
        set.status = created ? 201 : 200;
        return { host: entry, created };
      },
      {
        parse: "none",
        detail: documented({
          summary: "Block a host or domain",
          description: "Admin only. New links to it (or rules leading to it) are refused with 400 blocked-url; its existing links answer 451 on every instance within BLOCKLIST_POLL_MS.",
          auth: true,
          body: blockBody,
          responses: { 201: blockedView.meta({ description: "blocked" }), 200: blockedView.meta({ description: "already blocked through the API" }) },
          errors: [400, 401, 403, 413, 415, 503],
        }),
      },
    )
    .delete(
      "/api/admin/blocklist",
      async ({ request, query, set }) => {
        await access.requireAdmin(request);
        const entry = entryOf(parseQuery(unblockQuery, query).host);
        // Removing the API's copy would answer 204 while the file still blocks it.
        if (source.fileEntries().has(entry)) throw new AppError("blocklist-file-entry", `${entry} comes from BLOCKLIST_FILE; remove it there`);
        if (await source.remove(entry)) {
          set.status = 204;
          return null;
        }
        throw new AppError("not-blocked", `${entry} is not on the blocklist`);
      },
      {
        detail: documented({
          summary: "Unblock a host or domain added through the API",
          auth: true,
          query: unblockQuery,
          responses: { 204: { description: "unblocked (on every instance within BLOCKLIST_POLL_MS)" } },
          errors: [400, 401, 403, 404, 409, 503],
        }),
      },
    );
}
