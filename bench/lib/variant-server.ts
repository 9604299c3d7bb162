#!/usr/bin/env bun
/**
 * Cost attribution for cached redirects: the app's own modules assembled in growing layers, so
 * the CPU per request of each layer can be measured (bench/lib/attribution.ts drives it).
 *
 *   VARIANT=policy|service|events|elysia|elysia-events PORT=9000 DATABASE_NODES=... REDIS_NODES=... bun bench/lib/variant-server.ts
 *
 *   policy         Bun.serve + the app's Redis node (NodePolicy: deadline, retry, breaker) GET + 302
 *   service        Bun.serve + LinkService.resolve (shape check, ring, policy GET), observer a no-op
 *   events         service + the real observer: CacheMetrics, EventFactory, EventBus (Redis PUBLISH per flush)
 *   elysia         Elysia with one GET /:code route around `service` (headers as routes.ts sets them)
 *   elysia-events  Elysia around `events` (events are always built: the cost when someone listens)
 *   elysia-metrics elysia-events + Prometheus request metrics around app.fetch, as the front door does
 * The full app (src/composition/server.ts) is measured as is. The layers are partial on purpose,
 * so they are assembled here from the app's own modules and its own shard connections
 * (connectServerShards); the full app is never wired twice.
 */
import { Elysia } from "elysia";
import Redis from "ioredis";
import { parseConfig } from "../../src/config";
import { EventBus } from "../../src/events/event-bus";
import { EventFactory } from "../../src/events/event-factory";
import { LinkReader } from "../../src/modules/links/link-reader";
import type { LinkObserver } from "../../src/domain/outcomes";
import { CacheMetrics } from "../../src/observability/cache-metrics";
import { connectServerShards } from "../../src/composition/server-shards";
import { getCachedLink } from "../../src/storage/link-cache";
import { stableState } from "../../src/domain/topology";
import { RingRouter } from "../../src/topology/ring-router";
import { HotLinks } from "../../src/modules/links/hot-links";
import { PrometheusMetrics } from "../../src/observability/prometheus";
import { pathOf, routeLabeler } from "../../src/http/route-label";

const variant = process.env.VARIANT ?? "service";
const parsed = parseConfig(process.env);
if (!parsed.ok) {
  console.error(parsed.message);
  process.exit(1);
}
const config = parsed.config;
const shards = connectServerShards(config);

// The ring of every configured shard, as a stable cluster runs it.
const router = new RingRouter(stableState(shards.shards.map((s) => s.index)));

let observer: LinkObserver = { onRead: () => {}, onWrite: () => {}, onChange: () => {} };
let bus: EventBus | null = null;
if (variant === "events" || variant === "elysia-events" || variant === "elysia-metrics") {
  const cache = new CacheMetrics(shards.count);
  const factory = new EventFactory("variant");
  const publisher = new Redis(config.shards[0]!.redis, { enableOfflineQueue: false, maxRetriesPerRequest: 0 });
  const subscriber = new Redis(config.shards[0]!.redis);
  publisher.on("error", () => {});
  subscriber.on("error", () => {});
  bus = new EventBus({ node: "variant", channel: "shorten:variant-events", flushMs: config.EVENT_FLUSH_MS, maxPending: 50_000, feedSize: config.EVENT_FEED_SIZE, publisher, subscriber, local: { deliver: () => {}, deliverOwned: () => {}, deliverFeed: () => {} }, onDrop: () => {} });
  bus.start();
  observer = {
    onRead: (o) => {
      cache.recordRead(o.shard, o.source, o.status === "OK");
      bus!.emit(factory.read(o, cache.hitCount, cache.missCount));
    },
    onWrite: () => {},
    onChange: () => {},
  };
}
const links = new LinkReader({
  shards,
  router,
  // Off: these layers are the Redis path; the hot-link cache is measured with the full app.
  hot: new HotLinks({ maxEntries: 0, maxBytes: 0, ttlMs: 0 }),
  observer,
  cacheTtlSeconds: config.CACHE_TTL_SECONDS,
});

const health = (path: string) => path === "/health/ready" || path === "/health/live";
const codeOf = (url: string) => url.slice(url.indexOf("/", url.indexOf("//") + 2) + 1);

if (variant === "policy" || variant === "service" || variant === "events") {
  Bun.serve({
    hostname: "127.0.0.1",
    port: config.PORT,
    async fetch(request) {
      const code = codeOf(request.url);
      if (health(`/${code}`)) return new Response("ok");
      if (variant === "policy") {
        const link = await getCachedLink(shards.at(router.current.read.shardFor(code)).redis, code);
        return link === null || link === "deleted" ? new Response(null, { status: 404 }) : new Response(null, { status: 302, headers: { location: link.longUrl, "x-cache": "HIT", "x-source": "redis" } });
      }
      try {
        const { longUrl, outcome } = await links.resolve(code);
        return new Response(null, { status: 302, headers: { location: longUrl, "x-cache": outcome.cache, "x-source": outcome.source, "x-shard": String(outcome.shard) } });
      } catch {
        return new Response(null, { status: 404 });
      }
    },
  });
} else {
  const app = new Elysia()
    .get("/health/ready", () => "ok")
    .get("/:code", async ({ params, set }) => {
      const { longUrl, outcome } = await links.resolve(params.code);
      set.status = 302;
      set.headers["location"] = longUrl;
      set.headers["cache-control"] = "private, max-age=0";
      set.headers["x-cache"] = outcome.cache;
      set.headers["x-source"] = outcome.source;
      set.headers["x-shard"] = String(outcome.shard);
      return "";
    });
  if (variant === "elysia-metrics") {
    // As the front door does: request metrics at the server edge, around app.fetch.
    const routeLabel = routeLabeler(["/health/ready", "/:code"]);
    const prometheus = new PrometheusMetrics({ cache: new CacheMetrics(shards.count), breakers: () => [], bufferLevels: () => [], eventDrops: () => ({ batches: 0, events: 0 }), busTraffic: () => ({ allSent: 0, allReceived: 0, ownedSent: 0, ownedReceived: 0 }), wsClients: () => 0,
    wsRejections: () => ({}), hotLinks: () => 0, clicks: () => ({ counted: 0, flushed: 0, lost: 0, unenriched: 0 }), createBatches: () => ({ statements: 0, items: 0 }) });
    Bun.serve({
      hostname: "127.0.0.1",
      port: config.PORT,
      fetch: async (request) => {
        const started = performance.now();
        const response = await app.fetch(request);
        prometheus.observe(routeLabel(pathOf(request.url)), request.method, response.status, (performance.now() - started) / 1000);
        return response;
      },
    });
  } else {
    app.listen({ hostname: "127.0.0.1", port: config.PORT });
  }
}

const stop = async () => {
  await bus?.stop();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
