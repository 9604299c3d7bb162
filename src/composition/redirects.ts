import type { Config } from "../config";
import type { LinkReader } from "../modules/links/link-reader";
import { redirectHandler, unlockHandler, type RedirectDeps } from "../modules/links/redirect-route";
import { DailyCap } from "../modules/ratelimit/daily-cap";
import type { MemoryAdmission } from "../modules/ratelimit/memory-admission";
import { windowCounter } from "../modules/ratelimit/window-counter";
import type { ShardSet } from "../storage/shard-set";
import type { RingRouter } from "../topology/ring-router";

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
