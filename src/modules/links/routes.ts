import { Elysia } from "elysia";
import { readJsonBody } from "../../http/json-body";
import { rateLimitHeaders, rateLimitedError } from "../../http/rate-limit-headers";
import type { RateLimiter } from "../../infra/rate-limit/rate-limiter";
import { AppError } from "../../errors";
import type { LinkService } from "./link-service";
import { parseCreateBody } from "./schema";

export interface LinkRoutesDeps {
  links: LinkService;
  limiter: RateLimiter | null;
  clientKey: (request: Request) => string;
  publicBaseUrl: string;
  redirectStatus: number;
  maxBodyBytes: number;
  notFoundCost: number;
  instanceId: number;
}

/** POST /create and GET|HEAD /:code. */
export function linkRoutes(deps: LinkRoutesDeps) {
  const { links, limiter } = deps;
  const instanceHeader = String(deps.instanceId);
  return new Elysia({ name: "links" })
    .post(
      "/create",
      async ({ request, set }) => {
        if (limiter) {
          const decision = await limiter.consume("create", deps.clientKey(request), 1);
          if (!decision.allowed) throw rateLimitedError(decision);
          Object.assign(set.headers, rateLimitHeaders(decision));
        }
        const longUrl = parseCreateBody(await readJsonBody(request, deps.maxBodyBytes));
        const link = await links.create(longUrl);
        set.status = link.created ? 201 : 200;
        set.headers["x-shard"] = String(link.shard);
        set.headers["location"] = `${deps.publicBaseUrl}/${link.code}`;
        return { short_code: link.code, short_url: `${deps.publicBaseUrl}/${link.code}`, long_url: link.longUrl, created: link.created };
      },
      { parse: "none" },
    )
    .get("/:code", async ({ params, request }) => {
      const client = limiter ? deps.clientKey(request) : "";
      if (limiter) {
        const decision = await limiter.consume("redirect", client, 1);
        if (!decision.allowed) throw rateLimitedError(decision);
      }
      try {
        const { longUrl, outcome } = await links.resolve(params.code);
        // A plain Response: the hottest route skips Elysia's header mapping.
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
      } catch (error) {
        // Snowflake codes are sequential, so guessing must cost more than a hit: charge the rest now.
        if (limiter && error instanceof AppError && error.code === "short-url-not-found" && deps.notFoundCost > 1) {
          void limiter.consume("redirect", client, deps.notFoundCost - 1).catch(() => {});
        }
        throw error;
      }
    });
}
