import { Elysia } from "elysia";
import { AppError } from "../../errors";
import { principalOf } from "../keys/auth";
import { readJsonBody } from "../../http/json-body";
import type { rateGate } from "../ratelimit/rate-gate";
import { checkAlias } from "../../domain/alias";
import type { KeyRing } from "../keys/key-ring";
import type { LinkService } from "./link-service";
import type { RedirectHandler } from "./redirect-route";
import { createLinkBody, futureDate, parseBody } from "./schema";

export interface LinkRoutesDeps {
  links: LinkService;
  keys: KeyRing;
  /** GET|HEAD /{code} (redirect-route.ts); the front door also calls it directly. */
  redirect: RedirectHandler;
  gate: ReturnType<typeof rateGate>;
  publicBaseUrl: string;
  maxBodyBytes: number;
  anonymousCreate: boolean;
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
        let alias: string | undefined;
        if (body.alias !== undefined) {
          if (principal === null) throw new AppError("unauthorized", "a custom alias needs an API key");
          const checked = checkAlias(body.alias);
          if (!checked.ok) throw new AppError("invalid-body", checked.reason);
          alias = checked.alias;
        }
        const link = await links.create((body.url ?? body.long_url)!, {
          owner: principal?.keyId ?? null,
          alias,
          expiresAt: futureDate(body.expires_at, Date.now()),
          maxVisits: body.max_visits,
        });
        set.status = link.created ? 201 : 200;
        set.headers["x-shard"] = String(link.shard);
        set.headers["location"] = `${deps.publicBaseUrl}/${link.code}`;
        return { short_code: link.code, short_url: `${deps.publicBaseUrl}/${link.code}`, long_url: link.longUrl, created: link.created };
      },
      { parse: "none" },
    )
    .get("/:code", ({ params, request }) => deps.redirect(typeof params.code === "string" ? params.code : "", request));
}
