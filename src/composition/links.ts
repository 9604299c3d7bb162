import { hostname, networkInterfaces } from "node:os";
import type { Config } from "../config";
import type { LinkObserver } from "../domain/outcomes";
import { ownHostRule } from "../domain/own-host";
import type { IdSource } from "../ids/id-source";
import { BlocklistSource } from "../modules/abuse/blocklist-source";
import type { ClaimRepair } from "../modules/links/claim-repair";
import { LinkService } from "../modules/links/link-service";
import type { Logger } from "../observability/logger";
import type { PgNode } from "../storage/nodes";
import type { ShardSet } from "../storage/shard-set";
import type { RingRouter } from "../topology/ring-router";
import type Redis from "ioredis";

/**
 * The blocklist every instance enforces (BLOCKLIST_FILE and the catalog's entries, kept alike on
 * every instance through the bus and a poll of BLOCKLIST_POLL_MS) and the link service that
 * refuses blocked URLs, from the config.
 */
export function linksFrom(
  config: Config,
  deps: { shards: ShardSet; router: RingRouter; ids: IdSource; observer: LinkObserver; repairs: ClaimRepair; catalog: { primary: PgNode; replica: PgNode }; redis: { publisher: Redis; control: Redis }; logger: Logger },
) {
  const source = new BlocklistSource({
    catalog: deps.catalog,
    subscriber: deps.redis.control,
    publisher: deps.redis.publisher,
    file: config.BLOCKLIST_FILE ?? null,
    pollMs: config.BLOCKLIST_POLL_MS,
    onError: (message, error) => deps.logger.warn(message, { error: error.message }),
  });
  const blockedBy = (href: string) => source.list.blocksHref(href);
  const links = new LinkService({
    shards: deps.shards,
    router: deps.router,
    tickets: deps.ids,
    observer: deps.observer,
    repairs: deps.repairs,
    urlRules: {
      maxLength: config.MAX_URL_LENGTH,
      isOwnHost: ownHostRule({ publicBaseUrl: config.PUBLIC_BASE_URL, host: config.HOST, extraHosts: config.OWN_HOSTNAMES, machineHosts: machineHosts() }),
    },
    blockedBy,
    cacheTtlSeconds: config.CACHE_TTL_SECONDS,
  });
  return { links, blocklist: source, blockedBy };
}

/** What names this machine: a link to one reaches us, or the load balancer in front of us, on some port. */
function machineHosts(): string[] {
  return [hostname(), ...Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address))];
}
