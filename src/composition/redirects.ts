import type { Config } from "../config";
import { LinkReader, type LinkReaderDeps } from "../modules/links/link-reader";
import { ruleChooser } from "../modules/links/rule-facts";
import { countryLookup } from "../modules/analytics/country-lookup";
import { UserAgents } from "../modules/analytics/user-agent";
import { COUNTRY_DB_FILE } from "./paths";
import { redirectHandler, unlockHandler, type RedirectDeps } from "../modules/links/redirect-route";
import { DailyCap } from "../modules/ratelimit/daily-cap";
import type { MemoryAdmission } from "../modules/ratelimit/memory-admission";
import { windowCounter } from "../modules/ratelimit/window-counter";
import type { ShardSet } from "../storage/shard-set";
import type { RingRouter } from "../topology/ring-router";

/**
 * The redirect path's reader: storage lookups, and a link's redirect rules chosen per request
 * (user agents parsed once per distinct string, up to 10,000 kept; countries from the in-process
 * database, loaded the first time a rule asks).
 */
export function linkReaderFrom(config: Config, deps: Omit<LinkReaderDeps, "cacheTtlSeconds" | "chooseRule"> & { clientKey: (request: Request) => string }) {
  const { clientKey, ...rest } = deps;
  return new LinkReader({ ...rest, cacheTtlSeconds: config.CACHE_TTL_SECONDS, chooseRule: ruleChooser({ agents: new UserAgents(10_000), country: countryLookup(COUNTRY_DB_FILE, 10_000), clientAddress: clientKey }) });
}

/**
 * The redirect (GET|HEAD /{code}), a protected link's unlock (POST /{code}) and the anonymous
 * daily cap, from the config: the parts of the service whose counters live in Redis windows.
 */
export function composeRedirects(
  config: Config,
  deps: { reader: LinkReader; admission: MemoryAdmission | null; clientKey: (request: Request) => string; shards: ShardSet; router: RingRouter; onServed?: RedirectDeps["onServed"] },
) {
  const count = windowCounter(deps.shards, deps.router);
  const redirectDeps: RedirectDeps = {
    reader: deps.reader,
    admission: deps.admission,
    clientKey: deps.clientKey,
    redirectStatus: config.REDIRECT_STATUS,
    notFoundCost: config.RATE_LIMIT_NOT_FOUND_COST,
    instanceId: config.INSTANCE_ID,
    notFoundUrl: config.NOT_FOUND_REDIRECT_URL,
    onServed: deps.onServed,
  };
  const capped = config.RATE_LIMIT_ENABLED && config.ANONYMOUS_CREATE && config.ANONYMOUS_CREATE_PER_DAY > 0;
  return {
    /** Redis windows for other per-client limits (abuse reports). */
    count,
    redirect: redirectHandler(redirectDeps),
    unlock: unlockHandler({ ...redirectDeps, count }),
    anonymousDaily: capped ? new DailyCap({ count, cap: config.ANONYMOUS_CREATE_PER_DAY, clientKey: deps.clientKey }) : null,
  };
}
