import type { Server } from "bun";
import type { Config } from "../config";
import { shardsInUse, stableState } from "../domain/topology";
import { ClusterMetrics } from "../events/cluster-metrics";
import { EventBus } from "../events/event-bus";
import { EventFactory } from "../events/event-factory";
import { InvalidationBus } from "../events/invalidation-bus";
import { WsHub } from "../events/ws-hub";
import { clientIp } from "../http/client-ip";
import { ClientLimits } from "../http/client-limits";
import { frontDoor } from "../http/front-door";
import { routeLabeler } from "../http/route-label";
import { IdSource } from "../ids/id-source";
import { ClickCounter } from "../modules/clicks/click-counter";
import { ClickFlusher } from "../modules/clicks/click-flusher";
import { NotFoundCounter } from "../modules/clicks/not-found-counter";
import { ClickStats } from "../modules/clicks/click-stats";
import { AccountClickStats } from "../modules/clicks/account-stats";
import { checkShards, probeShards } from "../modules/health/node-health";
import { AccessControl } from "../modules/keys/access";
import { KeyRing } from "../modules/keys/key-ring";
import { ClaimRepair } from "../modules/links/claim-repair";
import { HotLinks } from "../modules/links/hot-links";
import { LinkManager } from "../modules/links/link-manager";
import { directCode, type RedirectDeps } from "../modules/links/redirect-route";
import { composeRedirects, linkReaderFrom } from "./redirects";
import { linksFrom } from "./links";
import { BULK_BODY_BYTES } from "../modules/links/schema";
import { metricsListener } from "../modules/observability/routes";
import { keyLookupGate, rateGate } from "../modules/ratelimit/rate-gate";
import { STREAM_PATH, WsGateway, type HubSocketData } from "../modules/stream/ws-gateway";
import { CacheMetrics } from "../observability/cache-metrics";
import type { Logger } from "../observability/logger";
import { LoopDelaySampler } from "../observability/loop-delay";
import { PrometheusMetrics } from "../observability/prometheus";
import { startTracing } from "../observability/tracing";
import { migrateShards } from "../storage/shard-migrations";
import { settledClient } from "../storage/nodes";
import { EVENTS_CHANNEL, INSTANCE_FIGURES_KEY } from "../storage/redis-keys";
import { RingRouter } from "../topology/ring-router";
import { TopologyAgent } from "../topology/topology-agent";
import { DASHBOARD_PREFIX, httpApp } from "./app";
import { analyticsFrom, clickLogFrom } from "./analytics";
import { rateLimitsFrom } from "./rate-limits";
import { linkObserver } from "./link-observer";
import { connectServerShards } from "./server-shards";
import { MIGRATIONS_DIR, WORKER_FILE } from "./paths";
import { busClients } from "./redis-clients";

export interface ComposeOptions {
  /** The client address a request stands for (in-process tests); by default the socket's peer. */
  peerAddress?: (request: Request) => string | undefined;
  /**
   * Replaces analytics' click recorder while analytics is on, given the click counter analytics
   * off counts with (the clicks it neither logs nor counts there go uncounted). Benchmarks only:
   * bench/lib/header-reads-server.ts.
   */
  clickRecorder?: (counter: ClickCounter) => NonNullable<RedirectDeps["onServed"]>;
}

/**
 * The composition root: the only place that turns config into objects and wires them.
 * run-server.ts calls it with the parsed env; tests call it with a config of their own (and, in
 * process, with the client address a request stands for). Every object is made before anything refers to it.
 */
export async function compose(config: Config, logger: Logger, options: ComposeOptions = {}) {
  const node = `instance-${config.INSTANCE_ID}`;
  const tracing = startTracing({ endpoint: config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, ratio: config.OTEL_TRACES_SAMPLER_ARG, service: "shorten", instance: node });
  const shards = connectServerShards(config, tracing);
  const catalog = { primary: shards.at(0).primary, replica: shards.at(0).replica };
  // Placeholder until start() reads the ring from the catalog (version 0 loses to any stored one).
  const router = new RingRouter(stableState(shards.shards.map((s) => s.index), 0));
  const ids = new IdSource({
    instanceId: config.INSTANCE_ID,
    threads: config.ID_WORKERS,
    shardSlots: shards.count,
    members: router.current.write.members,
    blockSize: config.ID_BLOCK_SIZE,
    lowWater: config.ID_LOW_WATER,
    workerFile: WORKER_FILE,
    onError: (error) => logger.warn("id block failed; the lane retries", { error: error.message }),
  });
  router.onWriteMembers = (members) => ids.setMembers(members);
  let server: Server<HubSocketData> | null = null;
  const peerAddress = options.peerAddress ?? ((request: Request) => server?.requestIP(request)?.address);
  const clientKey = (request: Request) => clientIp(peerAddress(request), request.headers.get("x-forwarded-for"), config.TRUSTED_PROXIES);

  const redis = busClients(config.EVENT_BUS_REDIS ?? config.shards[0]!.redis);
  const hub = new WsHub(config.WS_MAX_BUFFERED_BYTES);
  const bus = new EventBus({ node, channel: EVENTS_CHANNEL, flushMs: config.EVENT_FLUSH_MS, maxPending: 50_000, feedSize: config.EVENT_FEED_SIZE, publisher: redis.publisher, subscriber: redis.events, local: hub, onDrop: () => {} });
  hub.onTopicHeld = (topic, held) => bus.setTopicHeld(topic, held);
  const cacheMetrics = new CacheMetrics(shards.count);
  const clickLog = clickLogFrom(config);
  const clicks = new ClickCounter({ logged: () => clickLog?.pending ?? 0 });
  const events = new EventFactory(node);
  const notFound = new NotFoundCounter();
  const observer = linkObserver({ cache: cacheMetrics, notFound, bus, events });
  const hot = new HotLinks({ maxEntries: config.HOT_CACHE_SIZE, maxBytes: config.HOT_CACHE_MAX_BYTES, ttlMs: config.HOT_CACHE_TTL_MS });
  const invalidation = new InvalidationBus({ publisher: redis.publisher, subscriber: redis.control, drop: (codes) => hot.drop(codes), clear: () => hot.clear() });
  const analytics = clickLog ? analyticsFrom(config, clickLog, { shards, bus, events, clicks, peerAddress, logger }) : null;
  const clickFlusher = new ClickFlusher({ counter: clicks, shards, router, instance: node, intervalMs: config.CLICK_FLUSH_MS, maxQueued: 600, logger, rollups: analytics ? (now, ring, last) => analytics.analytics.take(now, ring, last) : undefined, retentionDays: config.ANALYTICS_RETENTION_DAYS, hourlyDays: config.ANALYTICS_HOURLY_DAYS });

  const topology = new TopologyAgent({
    catalog,
    router,
    instance: node,
    configuredShards: shards.count,
    probe: (list) => probeShards(shards, list),
    pollMs: config.TOPOLOGY_POLL_MS,
    liveMs: config.TOPOLOGY_LIVE_MS,
    drainTimeoutMs: config.DB_TIMEOUT_MS * 4 + 10_000,
    subscriber: redis.control,
    onView: (view) => hub.deliverTopology(view),
    logger,
  });
  const repairs = new ClaimRepair(shards, (longUrl) => router.current.write.shardFor(longUrl), { intervalMs: 2000, batch: 500 });
  const { links, blocklist, blockedBy } = linksFrom(config, { shards, router, ids, observer, repairs, catalog, redis, logger });
  const { limiter, admission, createAdmission } = rateLimitsFrom(config, shards, router);
  const reader = linkReaderFrom(config, { shards, router, hot, observer, clientKey, blockedBy, annotate: tracing.enabled ? (a) => tracing.annotate(a) : undefined });
  const keys = new KeyRing({ catalog, subscriber: redis.control, pollMs: config.KEYS_POLL_MS, unknownTtlMs: config.KEYS_UNKNOWN_TTL_MS, lookupGate: limiter ? keyLookupGate(limiter, clientKey) : undefined });
  keys.onRevoked = (keyIds) => hub.closeKeys(keyIds);
  const access = new AccessControl({ keys, adminToken: config.ADMIN_TOKEN, observabilityPublic: config.OBSERVABILITY_PUBLIC });
  const stats = new ClickStats({ shards, router });
  const manager = new LinkManager({ shards, router, links, invalidation, observer, clicksOf: (code) => stats.total(code), cacheTtlSeconds: config.CACHE_TTL_SECONDS, logger });
  const { redirect, unlock, anonymousDaily, count } = composeRedirects(config, { reader, admission, clientKey, shards, router, onServed: analytics ? (options.clickRecorder?.(clicks) ?? analytics.onServed) : (outcome) => clicks.record(outcome.code) });
  const gateway = new WsGateway({
    hub,
    limits: new ClientLimits({ maxSockets: config.WS_MAX_PER_CLIENT, messagesPerSecond: config.WS_MESSAGES_PER_SEC }),
    clientAddress: clientKey,
    authenticate: (credential) => access.streamAccessOf(credential),
    publicAccess: config.OBSERVABILITY_PUBLIC,
    authTimeoutMs: config.WS_AUTH_TIMEOUT_MS,
    maxMessageBytes: config.WS_MAX_MESSAGE_BYTES,
    maxBufferedBytes: config.WS_MAX_BUFFERED_BYTES,
  });

  const nodeStates = () => shards.shards.flatMap((s) => [s.redis, s.primary, s.replica].map((n) => ({ name: n.name, breaker: n.policy.state })));
  const clusterMetrics = new ClusterMetrics({
    node,
    redis: redis.publisher,
    key: INSTANCE_FIGURES_KEY,
    intervalMs: config.METRICS_PUSH_MS,
    staleMs: Math.max(5000, config.METRICS_PUSH_MS * 5),
    cache: cacheMetrics,
    clicks,
    // More values per instance than the dashboard shows, so the cluster's top is of sums.
    audience: analytics ? () => analytics.analytics.audience.figures(20) : undefined,
    notFound: () => notFound.figures(20),
    nodes: nodeStates,
    push: (payload) => hub.deliverMetrics(payload),
  });
  const prometheus = new PrometheusMetrics({
    cache: cacheMetrics,
    breakers: () => nodeStates().map((n) => ({ node: n.name, state: n.breaker })),
    bufferLevels: () => ids.levels(),
    eventDrops: () => hub.drops,
    busTraffic: () => bus.traffic,
    wsClients: () => hub.clientCount,
    wsRejections: () => gateway.rejections,
    hotLinks: () => hot.size,
    clicks: () => ({ counted: clicks.counted, ...clickFlusher.figures, unenriched: analytics?.analytics.figures.unenriched ?? 0 }),
    createBatches: () => links.batcher.figures,
  });
  const loopDelay = new LoopDelaySampler({ intervalMs: 20, observe: (seconds) => prometheus.loopDelay.observe(seconds) });

  let accepting = false;
  const app = await httpApp({
    config,
    logger,
    health: { shards, instanceId: config.INSTANCE_ID, inUse: () => shardsInUse(router.topology), isAccepting: () => accepting },
    links,
    manager,
    keys,
    access,
    stats,
    accountStats: new AccountClickStats({ shards, router }),
    redirect,
    unlock,
    reports: { catalog: () => catalog.primary, count, clientKey },
    blocklist,
    gate: rateGate(limiter, createAdmission, clientKey),
    anonymousDaily,
    limiter,
    prometheus,
    latestMetrics: () => clusterMetrics.snapshot,
    topologyView: () => topology.view(),
  });
  const label = routeLabeler([...app.routes.map((r) => r.path), STREAM_PATH], [DASHBOARD_PREFIX]);
  const door = frontDoor({ gateway, app, direct: { match: directCode, handle: redirect }, label, prometheus, tracing, logger });

  let probeTimer: ReturnType<typeof setInterval> | undefined;
  let migrations: { stop: () => void } | null = null;
  let metricsServer: Server<undefined> | null = null;
  return {
    app,
    /** The front door without a server (no WebSocket upgrades): what in-process tests call. */
    fetch: async (request: Request): Promise<Response> => (await door(request))!,
    shards,
    router,
    topology,
    hot,
    invalidation,
    clickFlusher,
    admission,
    createAdmission,
    reader,
    manager,
    keys,
    ids,
    links,
    cacheMetrics,
    repairs,
    hub,
    gateway,
    bus,
    clusterMetrics,
    /** Migrates reachable primaries, loads the ring, fills the id buffers, then starts taking traffic. */
    async start(): Promise<void> {
      // A pair's hosts were asked when the server was composed, maybe before they were up.
      await Promise.all(shards.shards.map((s) => settledClient(s.replica)));
      migrations = await migrateShards(shards.shards.map((s) => s.primary), MIGRATIONS_DIR, logger);
      await topology.start();
      await invalidation.start().catch((error: unknown) => logger.warn("cache invalidations unavailable; hot links expire by age only", { error: (error as Error).message }));
      await keys.start();
      await blocklist.start();
      await ids.start();
      repairs.start();
      clickFlusher.start();
      for (const budget of [admission, createAdmission]) budget?.start();
      // Probes every node through its policy, so a breaker opened by a node that has since come
      // back closes even if no request happens to try that node (a replica behind a live Redis).
      probeTimer = setInterval(() => void checkShards(shards), config.BREAKER_COOLDOWN_MS);
      probeTimer.unref?.();
      bus.start();
      clusterMetrics.start();
      loopDelay.start();
      accepting = true;
    },
    /** Starts Bun's server: /ws upgrades go to the hub, every other request to the Elysia app. */
    listen(hostname: string, port: number): Server<HubSocketData> {
      server = Bun.serve<HubSocketData>({ hostname, port, fetch: door, websocket: gateway.handlers, maxRequestBodySize: serverBodyLimit(config) });
      hub.attach(server);
      return server;
    },
    /** The Prometheus listener (METRICS_PORT on METRICS_HOST, loopback by default), when configured. */
    listenMetrics(): Server<undefined> | null {
      if (config.METRICS_PORT === undefined) return null;
      metricsServer = Bun.serve({ hostname: config.METRICS_HOST, port: config.METRICS_PORT, fetch: metricsListener(prometheus, logger) });
      return metricsServer;
    },
    stopAccepting(): void {
      accepting = false;
    },
    /** Flushes buffered events to clients, then closes every WebSocket with 1001. */
    closeStreams(): void {
      bus.flush();
      gateway.closeAll();
    },
    async close(): Promise<void> {
      accepting = false;
      void metricsServer?.stop(true);
      // Clicks first, while the database pools are open: a graceful stop loses none.
      await clickFlusher.stop();
      await Promise.all([admission?.stop(), createAdmission?.stop()]);
      await analytics?.analytics.close();
      await topology.stop();
      await invalidation.stop();
      await keys.stop();
      await blocklist.close();
      redis.control.disconnect();
      for (const ticker of [clusterMetrics, loopDelay]) ticker.stop();
      if (probeTimer) clearInterval(probeTimer);
      migrations?.stop();
      await bus.stop();
      gateway.closeAll();
      redis.events.disconnect();
      await redis.publisher.quit().catch(() => redis.publisher.disconnect());
      repairs.stop();
      await ids.close();
      await shards.close();
      await tracing.shutdown();
    },
  };
}

export type Composed = Awaited<ReturnType<typeof compose>>;

/**
 * Bun's own body limit, set above every limit of ours (MAX_BODY_BYTES, bulk's, IMPORT_MAX_BYTES):
 * past it Bun answers a bare 413 itself, even after a handler has started, so ours must be the
 * ones that trip, and answer in JSON.
 */
export function serverBodyLimit(config: Pick<Config, "MAX_BODY_BYTES" | "IMPORT_MAX_BYTES">): number {
  return Math.max(config.MAX_BODY_BYTES, BULK_BODY_BYTES, config.IMPORT_MAX_BYTES) + 1024 * 1024;
}

