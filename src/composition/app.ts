import { Elysia } from "elysia";
import { errorResponse } from "../http/error-handler";
import type { Logger } from "../observability/logger";
import { healthRoutes, type HealthDeps } from "../modules/health/routes";
import { linkRoutes, type LinkRoutesDeps } from "../modules/links/routes";

type AnyElysia = Elysia<any, any, any, any, any, any, any>;

export interface AppDeps {
  logger: Logger;
  health: HealthDeps;
  links: LinkRoutesDeps;
  /** Routes that must win over /:code (dashboard, event stream, metrics). */
  plugins: AnyElysia[];
}

/**
 * The HTTP surface, built from ready-made services so tests can drive it in-process with
 * `app.handle(new Request(...))` against the real cluster.
 */
export function buildApp(deps: AppDeps) {
  // The router takes the path from the first "/" after "http://", not after 11 characters (Elysia's
  // default, which misroutes `Host: x`); the front door gives host-less requests a URL (routable).
  let app = new Elysia({ handler: { standardHostname: false } })
    .onError(({ error, code }) => errorResponse(error, code, deps.logger))
    .use(healthRoutes(deps.health));
  for (const plugin of deps.plugins) app = app.use(plugin);
  return app.use(linkRoutes(deps.links));
}

export type App = ReturnType<typeof buildApp>;
