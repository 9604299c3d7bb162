import type { Config } from "../config";
import type { EventBus } from "../events/event-bus";
import type { EventFactory } from "../events/event-factory";
import { ClickAnalytics } from "../modules/analytics/click-analytics";
import { ClickEnricher } from "../modules/analytics/click-enricher";
import { ClickLog, clickRecorder } from "../modules/analytics/click-log";
import type { Logger } from "../observability/logger";
import type { ShardSet } from "../storage/shard-set";
import type { ClickCounter } from "../modules/clicks/click-counter";
import { VisitorSalts } from "../storage/visitor-salt";
import { ANALYTICS_WORKER_FILE, COUNTRY_DB_FILE } from "./paths";

/** Most enriched clicks streamed per flush; only they keep their link's owner in the log. */
const STREAM_MAX = 500;

/** The log of raw click facts the redirect appends to; null when ANALYTICS_ENABLED=false. */
export function clickLogFrom(config: Config): ClickLog | null {
  return config.ANALYTICS_ENABLED ? new ClickLog(config.ANALYTICS_BUFFER, STREAM_MAX) : null;
}

/**
 * Click analytics over `log`: the recorder the redirect calls, and the flush-side half. The log
 * also counts the clicks (handed to `clicks` at each drain) in place of a map increment per
 * redirect.
 */
export function analyticsFrom(config: Config, log: ClickLog, deps: { shards: ShardSet; bus: EventBus; events: EventFactory; clicks: ClickCounter; peerAddress: (request: Request) => string | undefined; logger: Logger }) {
  const salts = new VisitorSalts(deps.shards.at(0).redis);
  const analytics = new ClickAnalytics({
    log,
    enricher: new ClickEnricher({ workerFile: ANALYTICS_WORKER_FILE, threads: config.ANALYTICS_WORKERS, geoFile: config.ANALYTICS_GEO ? COUNTRY_DB_FILE : null, agentCacheSize: 10_000, trustedProxies: config.TRUSTED_PROXIES }),
    salt: config.ANALYTICS_UNIQUES ? (now) => salts.of(now) : null,
    listening: () => deps.bus.wanted,
    onCounted: (perCode) => {
      for (const [code, n] of perCode) deps.clicks.add(code, n);
    },
    onClicks: (clicks) => {
      for (const click of clicks) deps.bus.emit(deps.events.click(click), false);
    },
    streamMax: STREAM_MAX,
    intervalMs: config.ANALYTICS_FLUSH_MS,
    // ~2 KB a link on the worker (a dozen values and a few visitors, measured): its rollups stay near 100 MB however long the tail.
    maxLinks: 50_000,
    onError: (error) => deps.logger.warn("click enrichment failed; those clicks stay counted, without details", { error: error.message }),
  });
  return { analytics, onServed: clickRecorder(log, deps.clicks, deps.peerAddress) };
}
