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
    .get("/:code", async ({ params, request, set }) => {
      const client = limiter ? deps.clientKey(request) : "";
      if (limiter) {
        const decision = await limiter.consume("redirect", client, 1);
        if (!decision.allowed) throw rateLimitedError(decision);
      }
      try {
        const { longUrl, outcome } = await links.resolve(params.code);
        set.status = deps.redirectStatus;
        set.headers["location"] = longUrl;
        set.headers["cache-control"] = "private, max-age=0";
        set.headers["x-cache"] = outcome.cache;
        set.headers["x-source"] = outcome.source;
        set.headers["x-shard"] = String(outcome.shard);
        set.headers["x-instance"] = String(deps.instanceId);
        return "";
      } catch (error) {
        // Snowflake codes are sequential, so guessing must cost more than a hit: charge the rest now.
        if (limiter && error instanceof AppError && error.code === "short-url-not-found" && deps.notFoundCost > 1) {
          void limiter.consume("redirect", client, deps.notFoundCost - 1).catch(() => {});
        }
        throw error;
      }
    });
}
