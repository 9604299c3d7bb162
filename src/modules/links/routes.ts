import { Elysia } from "elysia";
import { AppError } from "../../errors";
import { principalOf } from "../keys/auth";
import { readJsonBody } from "../../http/json-body";
import type { rateGate } from "../ratelimit/rate-gate";
import { documented, errorBody } from "../../http/api-doc";
import type { KeyRing } from "../keys/key-ring";
import type { LinkService } from "./link-service";
import type { RedirectHandler } from "./redirect-route";
import { aliasOf, createLinkBody, futureDate, parseBody, unlockBody } from "./schema";
import { createdJson, createdView, shortUrl } from "./views";
import { hashPassword } from "./password-gate";
import { z } from "zod";

export interface LinkRoutesDeps {
  links: LinkService;
  keys: KeyRing;
  /** GET|HEAD /{code} (redirect-route.ts); the front door also calls it directly. */
  redirect: RedirectHandler;
  /** POST /{code}: a protected link's password (redirect-route.ts' unlockHandler). */
  unlock: RedirectHandler;
  gate: ReturnType<typeof rateGate>;
  publicBaseUrl: string;
  maxBodyBytes: number;
  anonymousCreate: boolean;
  /** Charges an anonymous create to its client's daily cap; null without one. */
  anonymousDaily: { charge(request: Request): Promise<void> } | null;
}

/** POST /create and GET|HEAD /:code. */
export function linkRoutes(deps: LinkRoutesDeps) {
  const { links } = deps;
  return new Elysia({ name: "links" })
    .post(
      "/create",
      async ({ request, set }) => {
        const principal = await principalOf(request, deps.keys);
        if (principal === null && !deps.anonymousCreate) throw new AppError("unauthorized", "creating links needs an API key on this server (ANONYMOUS_CREATE=false)", { headers: { "www-authenticate": "Bearer" } });
        Object.assign(set.headers, await deps.gate(request, principal));
        const body = parseBody(createLinkBody, await readJsonBody(request, deps.maxBodyBytes));
        if (body.alias !== undefined && principal === null) throw new AppError("unauthorized", "a custom alias needs an API key");
        if (body.password !== undefined && principal === null) throw new AppError("unauthorized", "a password needs an API key");
        if (body.rules !== undefined && principal === null) throw new AppError("unauthorized", "redirect rules need an API key");
        if (principal === null) await deps.anonymousDaily?.charge(request);
        const link = await links.create((body.url ?? body.long_url)!, {
          owner: principal?.keyId ?? null,
          alias: body.alias === undefined ? undefined : aliasOf(body.alias),
          expiresAt: futureDate(body.expires_at, Date.now()),
          maxVisits: body.max_visits,
          title: body.title,
          tags: body.tags,
          forwardQuery: body.forward_query,
          rules: body.rules,
          passwordHash: body.password === undefined ? undefined : await hashPassword(body.password),
        });
        set.status = link.created ? 201 : 200;
        set.headers["x-shard"] = String(link.shard);
        set.headers["location"] = shortUrl(deps.publicBaseUrl, link.code);
        return createdJson(link, deps.publicBaseUrl);
      },
      {
        parse: "none",
        detail: documented({
          summary: "Shorten a URL",
          description: "Anonymous unless ANONYMOUS_CREATE=false; an alias needs an API key. The same URL from the same owner answers the existing link (200).",
          body: createLinkBody,
          responses: { 201: createdView.meta({ description: "created" }), 200: createdView.meta({ description: "already shortened by this owner" }) },
          errors: [400, 401, 409, 413, 415, 429, 503],
        }),
      },
    )
    .get("/:code", ({ params, request }) => deps.redirect(typeof params.code === "string" ? params.code : "", request), {
      detail: documented({
        summary: "Redirect",
        description: "302 (or REDIRECT_STATUS) to the long URL; HEAD answers the same without counting a click.",
        path: { code: { description: "a generated code or an alias (any capitalisation)" } },
        responses: { 302: { description: "redirect to the long URL (Location)" } },
        errors: [401, 404, 410, 429, 451, 503],
      }),
    })
    .post("/:code", ({ params, request }) => deps.unlock(typeof params.code === "string" ? params.code : "", request), {
      parse: "none",
      detail: documented({
        summary: "Unlock a password-protected link",
        description: "The password as a form field (application/x-www-form-urlencoded, what the link's page sends) or JSON {\"password\": ...}. Attempts are limited per client and link.",
        path: { code: { description: "a generated code or an alias (any capitalisation)" } },
        body: { media: { "application/json": unlockBody, "application/x-www-form-urlencoded": unlockBody } },
        responses: { 302: { description: "the password is right: redirect to the long URL" }, 401: { description: "the password is not right: the form again for a browser (Accept: text/html), else password-required", media: { "text/html": z.string(), "application/json": errorBody } } },
        errors: [400, 404, 410, 413, 415, 429, 451, 503],
      }),
    });
}
