import { Elysia } from "elysia";
import { AppError } from "../../errors";
import { principalOf } from "../../http/auth";
import { readJsonBody } from "../../http/json-body";
import { rateLimitHeaders, rateLimitedError } from "../../http/rate-limit-headers";
import type { rateGate } from "../../http/rate-gate";
import type { RateLimiter } from "../../infra/rate-limit/rate-limiter";
import { checkAlias } from "../../domain/alias";
import type { KeyRing } from "../keys/key-ring";
import type { LinkReader, ResolvedLink } from "./link-reader";
import type { LinkService } from "./link-service";
import { createLinkBody, futureDate, parseBody } from "./schema";

export interface LinkRoutesDeps {
  links: LinkService;
  reader: LinkReader;
  keys: KeyRing;
  limiter: RateLimiter | null;
  gate: ReturnType<typeof rateGate>;
  clientKey: (request: Request) => string;
  publicBaseUrl: string;
  redirectStatus: number;
  maxBodyBytes: number;
  notFoundCost: number;
  instanceId: number;
  anonymousCreate: boolean;
}

/** POST /create and GET|HEAD /:code. */
export function linkRoutes(deps: LinkRoutesDeps) {
  const { links, reader, limiter } = deps;
  const instanceHeader = String(deps.instanceId);
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
    .get("/:code", ({ params, request }) => {
      const code = typeof params.code === "string" ? params.code : "";
      if (!limiter) {
        // Without a rate limit a link held in memory is answered with no promise at all.
        const resolved = reader.resolve(code);
        return resolved instanceof Promise ? resolved.then(redirect) : redirect(resolved);
      }
      return limitedRedirect(limiter, deps.clientKey(request), code);
    });

  // A plain Response: the hottest route skips Elysia's header mapping.
  function redirect({ longUrl, outcome }: ResolvedLink): Response {
    return new Response(null, {
      status: deps.redirectStatus,
      headers: {
        location: longUrl,
        "cache-control": "private, max-age=0",
        "x-cache": outcome.cache,
        "x-source": outcome.source,
        "x-shard": String(outcome.shard),
        "x-instance": instanceHeader,
      },
    });
  }

  async function limitedRedirect(limiter: RateLimiter, client: string, code: string): Promise<Response> {
    const decision = await limiter.consume("redirect", client, 1);
    if (!decision.allowed) throw rateLimitedError(decision);
    try {
      return redirect(await reader.resolve(code));
    } catch (error) {
      // Snowflake codes are sequential, so guessing must cost more than a hit: the rest of a 404's
      // price is charged even when it empties the bucket, so a prober's steady rate of 404s is the
      // redirect budget divided by RATE_LIMIT_NOT_FOUND_COST. The 404 says what is left.
      if (error instanceof AppError && error.code === "short-url-not-found") {
        const charged = deps.notFoundCost > 1 ? await limiter.consume("redirect", client, deps.notFoundCost - 1, true) : null;
        if (charged) throw new AppError(error.code, error.message, { headers: rateLimitHeaders(charged) });
      }
      throw error;
    }
  }
}
