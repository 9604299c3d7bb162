import { openapi } from "@elysiajs/openapi";
import { staticPlugin } from "@elysiajs/static";
import { Elysia } from "elysia";
import type { Config } from "../config";
import { publishedPaths } from "../http/api-doc";
import { errorResponse } from "../http/error-handler";
import { clickRoutes } from "../modules/clicks/routes";
import type { ClickStats } from "../modules/clicks/click-stats";
import type { AccountClickStats } from "../modules/clicks/account-stats";
import { healthRoutes, type HealthDeps } from "../modules/health/routes";
import type { AccessControl } from "../modules/keys/access";
import type { KeyRing } from "../modules/keys/key-ring";
import type { LinkManager } from "../modules/links/link-manager";
import type { LinkService } from "../modules/links/link-service";
import { manageRoutes } from "../modules/links/manage-routes";
import { linkRoutes } from "../modules/links/routes";
import { observabilityRoutes } from "../modules/observability/routes";
import { CreateBudget } from "../modules/ratelimit/create-budget";
import type { rateGate } from "../modules/ratelimit/rate-gate";
import type { DailyCap } from "../modules/ratelimit/daily-cap";
import { adminLinkRoutes } from "../modules/abuse/disable-routes";
import { reportRoutes } from "../modules/abuse/report-routes";
import { blocklistRoutes } from "../modules/abuse/blocklist-routes";
import type { BlocklistSource } from "../modules/abuse/blocklist-source";
import type { WindowCounter } from "../modules/ratelimit/window-counter";
import type { PgNode } from "../storage/nodes";
import type { RateLimiter } from "../modules/ratelimit/rate-limiter";
import { topologyRoutes } from "../modules/topology/routes";
import type { Logger } from "../observability/logger";
import type { PrometheusMetrics } from "../observability/prometheus";
import type { TopologyView } from "../topology/topology-view";
import { PUBLIC_DIR } from "./paths";

export interface HttpAppDeps {
  config: Config;
  logger: Logger;
  health: HealthDeps;
  links: LinkService;
  manager: LinkManager;
  keys: KeyRing;
  access: AccessControl;
  stats: ClickStats;
  accountStats: AccountClickStats;
  redirect: (code: string, request: Request) => Response | Promise<Response>;
  /** Abuse reports: the catalog they are kept in, the Redis windows that limit them, the client's address. */
  reports: { catalog: () => PgNode; count: WindowCounter; clientKey: (request: Request) => string };
  blocklist: BlocklistSource;
  /** POST /{code}: a protected link's password. */
  unlock: (code: string, request: Request) => Response | Promise<Response>;
  gate: ReturnType<typeof rateGate>;
  /** ANONYMOUS_CREATE_PER_DAY's counter; null when the cap is off. */
  anonymousDaily: DailyCap | null;
  limiter: RateLimiter | null;
  prometheus: PrometheusMetrics;
  latestMetrics: () => object | null;
  topologyView: () => Promise<TopologyView>;
}

/**
 * The HTTP surface from ready-made services: every feature's routes, the OpenAPI document and
 * the dashboard. Async only because the static plugin lists public/ before it can register
 * routes: awaited here, those routes are in the router before the first request. (Handed to
 * `.use()` as a promise, they were added later and a request that came first — a readiness
 * probe — could leave /dashboard answering 404.)
 */
export async function httpApp(deps: HttpAppDeps) {
  const { config, access } = deps;
  const dashboard = new Elysia({ name: "dashboard" })
    .get("/", ({ redirect }) => redirect(`${DASHBOARD_PREFIX}/`, 302))
    .use(await staticPlugin({ assets: PUBLIC_DIR, prefix: DASHBOARD_PREFIX, alwaysStatic: true, indexHTML: true, maxAge: 60, ignorePatterns: [/\/app\//] }))
    // The link owners' page (public/app), which imports the dashboard's DOM helpers from /dashboard/.
    .get(APP_PREFIX, ({ redirect }) => redirect(`${APP_PREFIX}/`, 302))
    .use(await staticPlugin({ assets: `${PUBLIC_DIR}/app`, prefix: APP_PREFIX, alwaysStatic: true, indexHTML: true, maxAge: 60 }));
  // Filled from the routes once they are all registered: the plugin reads it per request.
  const paths: Record<string, object> = {};
  // Routes that must win over /:code (dashboard, event stream, metrics) come before the links'.
  // The router takes the path from the first "/" after "http://", not after 11 characters (Elysia's
  // default, which misroutes `Host: x`); the front door gives host-less requests a URL (routable).
  const app = new Elysia({ handler: { standardHostname: false } })
    .onError(({ error, code }) => errorResponse(error, code, deps.logger))
    .use(healthRoutes(deps.health))
    .use(observabilityRoutes({ prometheus: deps.prometheus, latest: deps.latestMetrics, access }))
    .use(topologyRoutes({ view: deps.topologyView, access }))
    .use(clickRoutes({ stats: deps.stats, accountStats: deps.accountStats, access, keys: deps.keys, manager: deps.manager }))
    .use(reportRoutes({ ...deps.reports, access, maxBodyBytes: config.MAX_BODY_BYTES }))
    .use(blocklistRoutes({ source: deps.blocklist, access, maxBodyBytes: config.MAX_BODY_BYTES }))
    .use(adminLinkRoutes({ manager: deps.manager, access, publicBaseUrl: config.PUBLIC_BASE_URL, maxBodyBytes: config.MAX_BODY_BYTES }))
    .use(
      manageRoutes({
        manager: deps.manager,
        links: deps.links,
        keys: deps.keys,
        gate: deps.gate,
        budgetFor: (keyId) => new CreateBudget(deps.limiter, keyId),
        publicBaseUrl: config.PUBLIC_BASE_URL,
        maxBodyBytes: config.MAX_BODY_BYTES,
        maxImportBytes: config.IMPORT_MAX_BYTES,
        logger: deps.logger,
        countsOf: (codes) => deps.stats.countsOf(codes),
      }),
    )
    .use(openapi({ path: "/docs", specPath: "/openapi.json", documentation: { ...OPENAPI_INFO, paths: paths as never }, exclude: { paths: [/.*/] } }))
    .use(dashboard)
    .use(
      linkRoutes({
        links: deps.links,
        keys: deps.keys,
        gate: deps.gate,
        redirect: deps.redirect,
        unlock: deps.unlock,
        anonymousCreate: config.ANONYMOUS_CREATE,
        anonymousDaily: deps.anonymousDaily,
        publicBaseUrl: config.PUBLIC_BASE_URL,
        maxBodyBytes: config.MAX_BODY_BYTES,
      }),
    );
  Object.assign(paths, publishedPaths(app.routes, unpublished));
  return app;
}

export const DASHBOARD_PREFIX = "/dashboard";
export const APP_PREFIX = "/app";

/** Pages and the spec itself: served, not part of the API. */
const unpublished = (path: string) => path === "/" || path === "/docs" || path === "/openapi.json" || [DASHBOARD_PREFIX, APP_PREFIX].some((page) => path === page || path.startsWith(`${page}/`));

const OPENAPI_INFO = {
  info: { title: "Shorten", version: "1.0.0", description: "A distributed URL shortener: short links, their owners' management API, clicks and the cluster's topology." },
  components: { securitySchemes: { apiKey: { type: "http" as const, scheme: "bearer", description: "an API key (bun run keys create); X-API-Key works too" } } },
};

export type App = Awaited<ReturnType<typeof httpApp>>;
