import { fileURLToPath } from "node:url";
import { staticPlugin } from "@elysiajs/static";
import { Elysia } from "elysia";
import Redis from "ioredis";
import { buildApp } from "./app";
import type { Config } from "../config";
import { gcraParams } from "../domain/gcra";
import { clientIp } from "../http/client-ip";
import { frontDoor } from "../http/front-door";
import { IdSource } from "../ids/id-source";
import { RateLimiter } from "../modules/ratelimit/rate-limiter";
import { ClaimRepair } from "../modules/links/claim-repair";
import { LinkService } from "../modules/links/link-service";
import { checkShards } from "../modules/health/node-health";
import { HotLinks } from "../modules/links/hot-links";
import { ClickCounter } from "../modules/clicks/click-counter";
import { ClickFlusher } from "../modules/clicks/click-flusher";
import { ClickStats } from "../modules/clicks/click-stats";
import { clickRoutes } from "../modules/clicks/routes";
import { InvalidationBus } from "../events/invalidation-bus";
import { linkObserver } from "./link-observer";
import { KEYS_CHANNEL, KeyRing } from "../modules/keys/key-ring";
import { newApiKey } from "../domain/api-key";
import { insertKey, listKeys, revokeKey, type KeyScope } from "../storage/key-rows";
import { createPgNode } from "../storage/nodes";
import { LinkReader } from "../modules/links/link-reader";
import { directCode, redirectHandler } from "../modules/links/redirect-route";
import { LinkManager } from "../modules/links/link-manager";
import { manageRoutes } from "../modules/links/manage-routes";
import { BULK_BODY_BYTES } from "../modules/links/schema";
import { keyLookupGate, rateGate } from "../modules/ratelimit/rate-gate";
import { CreateBudget } from "../modules/ratelimit/create-budget";
import { openapi } from "@elysiajs/openapi";
import { hostname, networkInterfaces } from "node:os";
import { ownHostRule } from "../domain/own-host";
import { startTracing } from "../observability/tracing";
import { OPENAPI_DOCUMENTATION } from "./openapi-doc";
import { CacheMetrics } from "../observability/cache-metrics";
import { PrometheusMetrics } from "../observability/prometheus";
import { metricsListener, observabilityRoutes } from "../modules/observability/routes";
import { EventBus } from "../events/event-bus";
import { EventFactory } from "../events/event-factory";
import { ClusterMetrics } from "../events/cluster-metrics";
import { WsHub } from "../events/ws-hub";
import { WsGateway, type HubSocketData } from "../modules/stream/ws-gateway";
import { ClientLimits } from "../http/client-limits";
import { AccessControl } from "../modules/keys/access";
import type { Server } from "bun";
import type { Logger } from "../observability/logger";
import { applyMigrations } from "../storage/migrate";
import { ShardSet } from "../storage/shard-set";
import { shardsInUse, stableState } from "../domain/topology";
import { topologyRoutes } from "../modules/topology/routes";
import { probeShards } from "../modules/health/node-health";
import { RingRouter } from "../topology/ring-router";
import { TOPOLOGY_CHANNEL, TopologyAgent } from "../topology/topology-agent";
import { Piscina } from "piscina";
import { planMovesOn } from "../topology/move-planner";
import { Coordinator } from "../topology/mover/coordinator";
import { ProgressBoard } from "../topology/mover/progress-board";
import { Throttle } from "../topology/mover/throttle";
import { catalogView } from "../topology/catalog-view";
import { readTopology } from "../storage/topology-rows";

const WORKER_FILE = fileURLToPath(new URL("../../workers/id-block.worker.ts", import.meta.url));
const MIGRATIONS_DIR = fileURLToPath(new URL("../../migrations", import.meta.url));
const PUBLIC_DIR = fileURLToPath(new URL("../../public", import.meta.url));

/**
 * The composition root: the only place that turns config into objects and wires them. main.ts
 * calls it with the parsed env; tests call it with a config of their own. Async only because the
 * static plugin lists public/ before it can register routes: awaited here, those routes are in
 * the router before the first request. (Handed to `.use()` as a promise, they were added later
 * and a request that came first — a readiness probe — could leave /dashboard answering 404.)
 */
export async function compose(config: Config, logger: Logger, options: { peerAddress?: (request: Request) => string | undefined } = {}) {
  const tracing = startTracing({ endpoint: config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, ratio: config.OTEL_TRACES_SAMPLER_ARG, service: "shorten", instance: `instance-${config.INSTANCE_ID}` });
  const shards = ShardSet.connect(config.shards, {
    tracing,
    // No retries on Redis: every Redis read falls back to the database and every write is
    // best-effort, so a retry would only add latency before the fallback.
    redisPolicy: { timeoutMs: config.REDIS_TIMEOUT_MS, retries: 0, breakAfter: 5, halfOpenAfterMs: config.BREAKER_COOLDOWN_MS },
    dbPolicy: { timeoutMs: config.DB_TIMEOUT_MS, retries: 2, breakAfter: 5, halfOpenAfterMs: config.BREAKER_COOLDOWN_MS },
    dbPoolSize: config.DB_POOL_SIZE,
  });
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
  const node = `instance-${config.INSTANCE_ID}`;
  const cacheMetrics = new CacheMetrics(shards.count);
  const hub = new WsHub(config.WS_MAX_BUFFERED_BYTES);
  const busUrl = config.EVENT_BUS_REDIS ?? config.shards[0]!.redis;
  // Dedicated connections: a subscribed connection can do nothing else, and the publisher must
  // fail fast (no offline queue) so a down bus never holds events in memory.
  const busPublisher = new Redis(busUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 1000, retryStrategy: (n) => Math.min(n * 100, 1000) });
  const busSubscriber = new Redis(busUrl, { maxRetriesPerRequest: null, retryStrategy: (n) => Math.min(n * 100, 1000) });
  // Ring changes and cache invalidations: rare messages that must not queue behind event batches.
  const controlSubscriber = new Redis(busUrl, { maxRetriesPerRequest: null, retryStrategy: (n) => Math.min(n * 100, 1000) });
  busPublisher.on("error", () => {});
  busSubscriber.on("error", () => {});
  controlSubscriber.on("error", () => {});
  const bus = new EventBus({
    node,
    channel: "shorten:events",
    flushMs: config.EVENT_FLUSH_MS,
    maxPending: 50_000,
    publisher: busPublisher,
    subscriber: busSubscriber,
    local: hub,
    onDrop: () => {},
  });
  hub.onListening = (listening) => bus.setLocalListening(listening);
  const clicks = new ClickCounter();
  const observer = linkObserver({ cache: cacheMetrics, clicks, bus, events: new EventFactory(node) });
  const hot = new HotLinks({ maxEntries: config.HOT_CACHE_SIZE, ttlMs: config.HOT_CACHE_TTL_MS });
  const invalidation = new InvalidationBus({ publisher: busPublisher, subscriber: controlSubscriber, drop: (codes) => hot.drop(codes), clear: () => hot.clear() });
  const clickFlusher = new ClickFlusher({ counter: clicks, shards, router, instance: node, intervalMs: config.CLICK_FLUSH_MS, maxQueued: 600, logger });
  const nodeStates = () => shards.shards.flatMap((s) => [s.redis, s.primary, s.replica].map((n) => ({ name: n.name, breaker: n.policy.state })));
  const clusterMetrics = new ClusterMetrics({
    node,
    redis: busPublisher,
    key: "shorten:metrics:instances",
    intervalMs: config.METRICS_PUSH_MS,
    staleMs: Math.max(5000, config.METRICS_PUSH_MS * 5),
    cache: cacheMetrics,
    clicks,
    nodes: nodeStates,
    push: (payload) => hub.deliverMetrics(payload),
  });
  const prometheus = new PrometheusMetrics({
    cache: cacheMetrics,
    breakers: () => nodeStates().map((n) => ({ node: n.name, state: n.breaker })),
    bufferLevels: () => ids.levels(),
    eventDrops: () => hub.drops,
    wsClients: () => hub.clientCount,
    wsRejections: () => gateway.rejections,
    hotLinks: () => hot.size,
    clicks: () => ({ counted: clicks.counted, ...clickFlusher.figures }),
    createBatches: () => links.batcher.figures,
  });
  const topology = new TopologyAgent({
    catalog: { primary: shards.at(0).primary, replica: shards.at(0).replica },
    router,
    instance: node,
    configuredShards: shards.count,
    probe: (list) => probeShards(shards, list),
    pollMs: config.TOPOLOGY_POLL_MS,
    liveMs: config.TOPOLOGY_LIVE_MS,
    drainTimeoutMs: config.DB_TIMEOUT_MS * 4 + 10_000,
    subscriber: controlSubscriber,
    onView: (view) => hub.deliverTopology(view),
    logger,
  });
  const repairs = new ClaimRepair(shards, (longUrl) => router.current.write.shardFor(longUrl), { intervalMs: 2000, batch: 500 });
  const links = new LinkService({
    shards,
    router,
    tickets: ids,
    observer,
    repairs,
    urlRules: {
      maxLength: config.MAX_URL_LENGTH,
      isOwnHost: ownHostRule({ publicBaseUrl: config.PUBLIC_BASE_URL, host: config.HOST, extraHosts: config.OWN_HOSTNAMES, machineHosts: machineHosts() }),
    },
    cacheTtlSeconds: config.CACHE_TTL_SECONDS,
  });
  const limiter = config.RATE_LIMIT_ENABLED
    ? new RateLimiter(
        shards,
        (key) => router.current.write.shardFor(key),
        {
          create: gcraParams({ perMinute: config.RATE_LIMIT_CREATE_PER_MIN }),
          redirect: gcraParams({ perMinute: config.RATE_LIMIT_REDIRECT_PER_MIN }),
          keyed: gcraParams({ perMinute: config.RATE_LIMIT_KEY_PER_MIN }),
          auth: gcraParams({ perMinute: config.RATE_LIMIT_AUTH_PER_MIN }),
        },
        config.RATE_LIMIT_WHEN_REDIS_DOWN,
      )
    : null;
  const reader = new LinkReader({ shards, router, hot, observer, cacheTtlSeconds: config.CACHE_TTL_SECONDS, annotate: tracing.enabled ? (a) => tracing.annotate(a) : undefined });
  const clientKey = (request: Request) => clientIp(peerAddress(request), request.headers.get("x-forwarded-for"), config.TRUSTED_PROXIES);
  const keys = new KeyRing({
    catalog: { primary: shards.at(0).primary, replica: shards.at(0).replica },
    subscriber: controlSubscriber,
    pollMs: config.KEYS_POLL_MS,
    unknownTtlMs: config.KEYS_UNKNOWN_TTL_MS,
    lookupGate: limiter ? keyLookupGate(limiter, clientKey) : undefined,
  });
  keys.onRevoked = (keyIds) => hub.closeKeys(keyIds);
  const access = new AccessControl({ keys, adminToken: config.ADMIN_TOKEN, observabilityPublic: config.OBSERVABILITY_PUBLIC });
  const stats = new ClickStats({ shards, router });
  const manager = new LinkManager({ shards, router, links, invalidation, observer, clicksOf: async (code) => (await stats.of(code, "day")).total, cacheTtlSeconds: config.CACHE_TTL_SECONDS, logger });
  const gate = rateGate(limiter, clientKey);
  const redirect = redirectHandler({ reader, limiter, clientKey, redirectStatus: config.REDIRECT_STATUS, notFoundCost: config.RATE_LIMIT_NOT_FOUND_COST, instanceId: config.INSTANCE_ID });
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
  let accepting = false;
  let probeTimer: ReturnType<typeof setInterval> | undefined;
  let server: Server<HubSocketData> | null = null;
  let metricsServer: Server<undefined> | null = null;
  const peerAddress = options.peerAddress ?? ((request: Request) => server?.requestIP(request)?.address);

  const dashboard = new Elysia({ name: "dashboard" })
    .get("/", ({ redirect }) => redirect("/dashboard/", 302))
    .use(await staticPlugin({ assets: PUBLIC_DIR, prefix: "/dashboard", alwaysStatic: true, indexHTML: true, maxAge: 60 }));
  const app = buildApp({
    logger,
    plugins: [
      observabilityRoutes({ prometheus, latest: () => clusterMetrics.snapshot, access }),
      topologyRoutes({ view: () => topology.view(), access }),
      clickRoutes({ stats, access, keys, manager }),
      manageRoutes({ manager, links, keys, gate, budgetFor: (keyId) => new CreateBudget(limiter, keyId), publicBaseUrl: config.PUBLIC_BASE_URL, maxBodyBytes: config.MAX_BODY_BYTES, maxImportBytes: config.IMPORT_MAX_BYTES }),
      openapi({ path: "/docs", specPath: "/openapi.json", documentation: OPENAPI_DOCUMENTATION as never, exclude: { paths: ["/", "/ws", "/docs", "/openapi.json"], staticFile: true } }),
      dashboard,
    ],
    health: { shards, instanceId: config.INSTANCE_ID, inUse: () => shardsInUse(router.topology), isAccepting: () => accepting },
    links: {
      links,
      keys,
      gate,
      redirect,
      anonymousCreate: config.ANONYMOUS_CREATE,
      publicBaseUrl: config.PUBLIC_BASE_URL,
      maxBodyBytes: config.MAX_BODY_BYTES,
    },
  });

  const door = frontDoor({ gateway, app, direct: { match: directCode, handle: redirect }, prometheus, tracing, logger });
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
      await Promise.all(
        shards.shards.map((s) =>
          applyMigrations(s.primary.client, MIGRATIONS_DIR).catch((error: unknown) => logger.warn("migrations skipped; primary unreachable", { node: s.primary.name, error: (error as Error).message })),
        ),
      );
      await topology.start();
      await invalidation.start().catch((error: unknown) => logger.warn("cache invalidations unavailable; hot links expire by age only", { error: (error as Error).message }));
      await keys.start();
      await ids.start();
      repairs.start();
      clickFlusher.start();
      // Probes every node through its policy, so a breaker opened by a node that has since come
      // back closes even if no request happens to try that node (a replica behind a live Redis).
      probeTimer = setInterval(() => void checkShards(shards), config.BREAKER_COOLDOWN_MS);
      probeTimer.unref?.();
      bus.start();
      clusterMetrics.start();
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
      await topology.stop();
      await invalidation.stop();
      await keys.stop();
      controlSubscriber.disconnect();
      clusterMetrics.stop();
      if (probeTimer) clearInterval(probeTimer);
      await bus.stop();
      gateway.closeAll();
      busSubscriber.disconnect();
      await busPublisher.quit().catch(() => busPublisher.disconnect());
      repairs.stop();
      await ids.close();
      await shards.close();
      await tracing.shutdown();
    },
  };
}

export type Composed = Awaited<ReturnType<typeof compose>>;

export interface MoverOptions {
  batchSize: number;
  /** Scanned rows per second across all scans; Infinity for no limit. */
  rowsPerSecond: number;
  graceMs: number;
  signal: AbortSignal;
  log: (line: string) => void;
  progressOut?: ConstructorParameters<typeof ProgressBoard>[0];
}

/**
 * The second entry point: the re-sharding mover (`bun run reshard`), wired from the same config
 * as the server. It holds an advisory lock on the catalog for its whole run, so two movers never
 * work at once; the lock dies with the mover's connection, so a killed mover frees it.
 */
export async function composeMover(config: Config, options: MoverOptions) {
  // Batches are bigger than a request's queries: a longer deadline, the same retries.
  const shards = ShardSet.connect(config.shards, {
    redisPolicy: { timeoutMs: Math.max(config.REDIS_TIMEOUT_MS, 2000), retries: 1, breakAfter: 5, halfOpenAfterMs: config.BREAKER_COOLDOWN_MS },
    dbPolicy: { timeoutMs: Math.max(config.DB_TIMEOUT_MS, 15_000), retries: 2, breakAfter: 5, halfOpenAfterMs: config.BREAKER_COOLDOWN_MS },
    dbPoolSize: 4,
  });
  const catalog = shards.at(0).primary;
  const lock = await catalog.client.reserve();
  const [held] = await lock<{ ok: boolean }[]>`select pg_try_advisory_lock(${MOVER_LOCK_KEY}::bigint) as ok`;
  if (!held?.ok) {
    lock.release();
    await shards.close();
    throw new Error("another reshard is running against this cluster (its lock on shard 0 is held)");
  }
  const pool = new Piscina({ filename: WORKER_FILE, minThreads: 1, maxThreads: 1 });
  const publisher = new Redis(config.EVENT_BUS_REDIS ?? config.shards[0]!.redis, { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 1000 });
  publisher.on("error", () => {});
  const coordinator = new Coordinator({
    ctx: {
      shards,
      catalog,
      planMoves: (request) => planMovesOn(pool, request),
      batchSize: options.batchSize,
      throttle: new Throttle(options.rowsPerSecond),
      board: new ProgressBoard(options.progressOut),
      signal: options.signal,
      log: options.log,
    },
    migrate: async (shard) => void (await applyMigrations(shards.at(shard).primary.client, MIGRATIONS_DIR)),
    publish: async (view) => void (await publisher.publish(TOPOLOGY_CHANNEL, JSON.stringify({ kind: "topology", ...view }))),
    liveMs: config.TOPOLOGY_LIVE_MS,
    graceMs: options.graceMs,
    tickMs: 250,
  });
  return {
    coordinator,
    async status() {
      const stored = await readTopology(catalog);
      if (!stored) throw new Error("the catalog has no ring yet: start an instance once");
      return catalogView(catalog, stored, config.TOPOLOGY_LIVE_MS);
    },
    async close(): Promise<void> {
      await lock`select pg_advisory_unlock(${MOVER_LOCK_KEY}::bigint)`.catch(() => {});
      lock.release();
      publisher.disconnect();
      await pool.destroy();
      await shards.close();
    },
  };
}

// Arbitrary but fixed: every mover must agree on it. ("shorten" mover lock)
const MOVER_LOCK_KEY = "7271906481325790162";

/**
 * The third entry point: API key administration (`bun run keys`), on the catalog shard's primary,
 * announcing revocations over the bus so every instance drops a revoked key at once.
 */
export function composeKeyAdmin(config: Config) {
  const policy = { timeoutMs: Math.max(config.DB_TIMEOUT_MS, 5000), retries: 1, breakAfter: 5, halfOpenAfterMs: config.BREAKER_COOLDOWN_MS };
  const catalog = createPgNode("primary-0", "primary", config.shards[0]!.primary, policy, 1);
  const publisher = new Redis(config.EVENT_BUS_REDIS ?? config.shards[0]!.redis, { enableOfflineQueue: true, maxRetriesPerRequest: 1, commandTimeout: 2000 });
  publisher.on("error", () => {});
  return {
    async create(name: string, scope: KeyScope = "user") {
      await applyMigrations(catalog.client, MIGRATIONS_DIR);
      const key = newApiKey((n) => crypto.getRandomValues(new Uint8Array(n)));
      await insertKey(catalog, { id: key.id, name, scope, hash: key.hash });
      return key;
    },
    list: () => listKeys(catalog),
    async revoke(id: string): Promise<{ revoked: boolean; announced: boolean }> {
      const revoked = await revokeKey(catalog, id);
      const announced = revoked ? await publisher.publish(KEYS_CHANNEL, id).then(() => true, () => false) : false;
      return { revoked, announced };
    },
    async close() {
      publisher.disconnect();
      await catalog.client.end({ timeout: 2 });
    },
  };
}

/**
 * Bun's own body limit, set above every limit of ours (MAX_BODY_BYTES, bulk's, IMPORT_MAX_BYTES):
 * past it Bun answers a bare 413 itself, even after a handler has started, so ours must be the
 * ones that trip, and answer in JSON.
 */
export function serverBodyLimit(config: Pick<Config, "MAX_BODY_BYTES" | "IMPORT_MAX_BYTES">): number {
  return Math.max(config.MAX_BODY_BYTES, BULK_BODY_BYTES, config.IMPORT_MAX_BYTES) + 1024 * 1024;
}

/** What names this machine: a link to one reaches us, or the load balancer in front of us, on some port. */
function machineHosts(): string[] {
  return [hostname(), ...Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address))];
}
