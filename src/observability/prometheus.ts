import { Gauge, Histogram, Registry } from "prom-client";
import { RequestMetrics } from "./request-metrics";
import type { CacheMetrics } from "./cache-metrics";

export interface PrometheusSources {
  cache: CacheMetrics;
  breakers: () => Array<{ node: string; state: "closed" | "open" | "half-open" }>;
  bufferLevels: () => number[];
  eventDrops: () => { batches: number; events: number };
  /** Event batches relayed between instances through Redis, by direction and channel. */
  busTraffic: () => { allSent: number; allReceived: number; ownedSent: number; ownedReceived: number };
  wsClients: () => number;
  /** WebSockets closed by a per-client limit or for want of a valid credential, by reason. */
  wsRejections: () => Readonly<Record<string, number>>;
  hotLinks: () => number;
  /** Clicks counted on the redirect path, flushed to PostgreSQL, and given up on. */
  clicks: () => { counted: number; flushed: number; lost: number; unenriched: number };
  /** Group commit: statements written and the creates they carried. */
  createBatches: () => { statements: number; items: number };
}

const BREAKER_VALUE = { closed: 0, "half-open": 1, open: 2 } as const;

/**
 * GET /metrics in Prometheus text format. Request counters and latency histograms are updated
 * per request; everything else is read from its owner at scrape time, so there is one source of
 * truth per figure.
 */
export class PrometheusMetrics {
  readonly registry = new Registry();
  private readonly requests = new RequestMetrics([0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]);

  /** How late the event loop ran a timer (observability/loop-delay.ts), in seconds. */
  readonly loopDelay = new Histogram({
    name: "shorten_event_loop_delay_seconds",
    help: "How much later than asked a timer ran on this instance's event loop: the wait a request arriving then had before any of its work started",
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1],
    registers: [],
  });

  constructor(sources: PrometheusSources) {
    const registers = [this.registry];
    this.registry.registerMetric(this.loopDelay);
    for (const metric of this.requests.metrics()) this.registry.registerMetric(metric);
    new Gauge({
      name: "shorten_cache_requests",
      help: "Reads by cache result on this instance (hit = served from the hot-link cache or Redis; memory_hit is the hot-link part)",
      labelNames: ["result"],
      registers,
      collect() {
        const s = sources.cache.snapshot();
        this.set({ result: "hit" }, s.cache_hit_count);
        this.set({ result: "memory_hit" }, sources.cache.memoryHitCount);
        this.set({ result: "miss" }, s.cache_miss_count);
      },
    });
    new Gauge({
      name: "shorten_cache_hit_ratio",
      help: "Cache hit ratio on this instance",
      registers,
      collect() {
        this.set(sources.cache.snapshot().cache_hit_rate);
      },
    });
    new Gauge({
      name: "shorten_shard_reads",
      help: "Reads per shard by outcome (hits, misses, replica/primary fallbacks, not found, errors) and writes",
      labelNames: ["shard", "kind"],
      registers,
      collect() {
        sources.cache.shards.forEach((counters, shard) => {
          for (const [kind, value] of Object.entries(counters)) this.set({ shard: String(shard), kind }, value);
        });
      },
    });
    new Gauge({
      name: "shorten_breaker_state",
      help: "Circuit breaker per node: 0 closed, 1 half-open, 2 open",
      labelNames: ["node"],
      registers,
      collect() {
        for (const b of sources.breakers()) this.set({ node: b.node }, BREAKER_VALUE[b.state]);
      },
    });
    new Gauge({
      name: "shorten_id_buffer_level",
      help: "Pre-generated short codes buffered per shard",
      labelNames: ["shard"],
      registers,
      collect() {
        sources.bufferLevels().forEach((level, shard) => this.set({ shard: String(shard) }, level));
      },
    });
    new Gauge({
      name: "shorten_event_drops",
      help: "Events not delivered to a WebSocket client because it was too slow",
      labelNames: ["unit"],
      registers,
      collect() {
        const d = sources.eventDrops();
        this.set({ unit: "batches" }, d.batches);
        this.set({ unit: "events" }, d.events);
      },
    });
    new Gauge({
      name: "shorten_bus_batches",
      help: "Event batches relayed between instances: every link's events (channel all) or one key's (owner), sent while another instance holds them, received while a client here does",
      labelNames: ["direction", "channel"],
      registers,
      collect() {
        const t = sources.busTraffic();
        this.set({ direction: "sent", channel: "all" }, t.allSent);
        this.set({ direction: "received", channel: "all" }, t.allReceived);
        this.set({ direction: "sent", channel: "owner" }, t.ownedSent);
        this.set({ direction: "received", channel: "owner" }, t.ownedReceived);
      },
    });
    new Gauge({
      name: "shorten_ws_clients",
      help: "Connected WebSocket clients on this instance",
      registers,
      collect() {
        this.set(sources.wsClients());
      },
    });
    new Gauge({
      name: "shorten_ws_rejections",
      help: "WebSockets refused or closed with 1008 on this instance: connections (over the per-client cap), messages (over the per-second limit), size (message too large), auth (no or wrong credential)",
      labelNames: ["reason"],
      registers,
      collect() {
        for (const [reason, count] of Object.entries(sources.wsRejections())) this.set({ reason }, count);
      },
    });
    new Gauge({
      name: "shorten_hot_links",
      help: "Links held in this instance's hot-link cache",
      registers,
      collect() {
        this.set(sources.hotLinks());
      },
    });
    new Gauge({
      name: "shorten_clicks",
      help: "Clicks on this instance: counted on redirects, flushed to PostgreSQL, lost (flush queue overflow), unenriched (counted, details dropped: analytics log full or enrichment failed)",
      labelNames: ["state"],
      registers,
      collect() {
        const c = sources.clicks();
        this.set({ state: "counted" }, c.counted);
        this.set({ state: "flushed" }, c.flushed);
        this.set({ state: "lost" }, c.lost);
        this.set({ state: "unenriched" }, c.unenriched);
      },
    });
    new Gauge({
      name: "shorten_create_batches",
      help: "Group-commit create statements on this instance and the creates they carried",
      labelNames: ["unit"],
      registers,
      collect() {
        const b = sources.createBatches();
        this.set({ unit: "statements" }, b.statements);
        this.set({ unit: "creates" }, b.items);
      },
    });
  }

  /** Per request (the front door): see RequestMetrics for why it is not prom-client's own observe. */
  observe(route: string, method: string, status: number, seconds: number): void {
    this.requests.observe(route, method, status, seconds);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
