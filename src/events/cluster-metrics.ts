import type Redis from "ioredis";
import { sumCounts, topCounts } from "../domain/ranking";
import { cacheFigures, emptyShardCounters, type CacheMetrics, type ShardCounters } from "../observability/cache-metrics";

const TOP_LINKS = 10;
/** Values of each analytics dimension on the dashboard. */
const TOP_VALUES = 8;

export interface InstanceFigures {
  node: string;
  at: number;
  hits: number;
  misses: number;
  reads_per_s: number;
  writes_per_s: number;
  memory_hits: number;
  clicks_per_s: number;
  clicks_total: number;
  top_links: Array<{ code: string; clicks: number }>;
  shards: ShardCounters[];
  /** Click analytics: humans, bots and top values since the instance started; absent when analytics is off. */
  audience?: AudienceFigures;
  /** Requests for unknown codes since the instance started, and the paths asked for most. */
  not_found?: NotFoundFigures;
}

export interface NotFoundFigures {
  total: number;
  top: Array<{ path: string; requests: number }>;
}

/** What click analytics tells the figures (the analytics module's ClickAudience). */
export interface AudienceFigures {
  humans: number;
  bots: number;
  top: Record<"country" | "referrer" | "device", Array<{ value: string; clicks: number }>>;
}

/** What this instance's click counter tells the figures (the clicks module's ClickCounter). */
export interface ClickFigures {
  readonly perSecond: number;
  readonly counted: number;
  top(n: number): Array<{ code: string; clicks: number }>;
}

export interface NodeState {
  name: string;
  breaker: "closed" | "open" | "half-open";
}

/**
 * Every `intervalMs` this instance writes its counters to one Redis hash (a field per instance),
 * reads every instance's back, sums them, and pushes instance and cluster figures on the metrics
 * topic. The sums are made here, in the backend, so every dashboard shows the same numbers.
 * Instances that stopped reporting drop out after `staleMs`.
 */
export class ClusterMetrics {
  private timer: ReturnType<typeof setInterval> | undefined;
  private last = { at: Date.now(), reads: 0, writes: 0 };
  private latest: object | null = null;

  constructor(
    private readonly options: {
      node: string;
      redis: Redis;
      key: string;
      intervalMs: number;
      staleMs: number;
      cache: CacheMetrics;
      clicks: ClickFigures;
      audience?: () => AudienceFigures;
      notFound?: () => NotFoundFigures;
      nodes: () => NodeState[];
      push: (payload: object) => void;
    },
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.options.intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The last payload pushed, for clients that just connected. */
  get snapshot(): object | null {
    return this.latest;
  }

  async tick(): Promise<void> {
    const mine = this.instanceFigures();
    let all: InstanceFigures[] = [mine];
    let clusterSource: "redis" | "local" = "local";
    try {
      const { redis, key, node } = this.options;
      const [, fields] = (await redis.multi().hset(key, node, JSON.stringify(mine)).hgetall(key).exec()) ?? [];
      const raw = (fields?.[1] ?? {}) as Record<string, string>;
      const now = Date.now();
      all = Object.values(raw)
        .map((v) => JSON.parse(v) as InstanceFigures)
        .filter((f) => now - f.at <= this.options.staleMs);
      clusterSource = "redis";
    } catch {
      // Redis unreachable: the cluster figure degrades to this instance's own, and says so.
    }
    const payload = {
      at: mine.at,
      instance: {
        node: mine.node,
        ...cacheFigures(mine.hits, mine.misses),
        ...hitSplit(mine.hits, mine.memory_hits),
        reads_per_s: mine.reads_per_s,
        writes_per_s: mine.writes_per_s,
        clicks_per_s: mine.clicks_per_s,
        clicks_total: mine.clicks_total,
        top_links: mine.top_links,
        shards: mine.shards,
        not_found: mine.not_found ?? null,
      },
      cluster: { ...sumInstances(all), source: clusterSource },
      nodes: this.options.nodes(),
    };
    this.latest = payload;
    this.options.push(payload);
  }

  private instanceFigures(): InstanceFigures {
    const { cache, clicks, node } = this.options;
    const snap = cache.snapshot();
    const writes = cache.shards.reduce((n, s) => n + s.writes + s.write_errors, 0);
    const now = Date.now();
    const seconds = Math.max(0.001, (now - this.last.at) / 1000);
    const figures: InstanceFigures = {
      node,
      at: now,
      hits: snap.cache_hit_count,
      misses: snap.cache_miss_count,
      reads_per_s: round2((snap.cache_total - this.last.reads) / seconds),
      writes_per_s: round2((writes - this.last.writes) / seconds),
      memory_hits: cache.memoryHitCount,
      clicks_per_s: clicks.perSecond,
      clicks_total: clicks.counted,
      top_links: clicks.top(TOP_LINKS),
      shards: cache.shards.map((s) => ({ ...s })),
      ...(this.options.audience ? { audience: this.options.audience() } : {}),
      ...(this.options.notFound ? { not_found: this.options.notFound() } : {}),
    };
    this.last = { at: now, reads: snap.cache_total, writes };
    return figures;
  }
}

export function sumInstances(all: readonly InstanceFigures[]) {
  const shardCount = Math.max(0, ...all.map((f) => f.shards.length));
  const shards = Array.from({ length: shardCount }, emptyShardCounters);
  for (const f of all) {
    f.shards.forEach((counters, i) => {
      for (const k of Object.keys(counters) as (keyof ShardCounters)[]) shards[i]![k] += counters[k];
    });
  }
  const hits = all.reduce((n, f) => n + f.hits, 0);
  const misses = all.reduce((n, f) => n + f.misses, 0);
  const top = new Map<string, number>();
  for (const f of all) for (const t of f.top_links ?? []) top.set(t.code, (top.get(t.code) ?? 0) + t.clicks);
  return {
    instances: all.map((f) => f.node).sort(),
    ...cacheFigures(hits, misses),
    ...hitSplit(hits, all.reduce((n, f) => n + (f.memory_hits ?? 0), 0)),
    clicks_per_s: round2(all.reduce((n, f) => n + (f.clicks_per_s ?? 0), 0)),
    clicks_total: all.reduce((n, f) => n + (f.clicks_total ?? 0), 0),
    top_links: [...top].sort((a, b) => b[1] - a[1]).slice(0, TOP_LINKS).map(([code, clicks]) => ({ code, clicks })),
    reads_per_s: round2(all.reduce((n, f) => n + f.reads_per_s, 0)),
    writes_per_s: round2(all.reduce((n, f) => n + f.writes_per_s, 0)),
    shards,
    audience: sumAudiences(all.flatMap((f) => (f.audience ? [f.audience] : []))),
    not_found: sumNotFound(all.flatMap((f) => (f.not_found ? [f.not_found] : []))),
  };
}

function sumNotFound(all: readonly NotFoundFigures[]): NotFoundFigures {
  const sums = sumCounts(all.map((f) => (f.top ?? []).map((t): [string, number] => [t.path, t.requests])));
  const top = topCounts(sums, TOP_VALUES).map(([path, requests]) => ({ path, requests }));
  return { total: all.reduce((n, f) => n + f.total, 0), top };
}

/** The instances' audiences added up (null when none reports one): the top values of the sums. */
function sumAudiences(all: readonly AudienceFigures[]): AudienceFigures | null {
  if (all.length === 0) return null;
  const top = (d: keyof AudienceFigures["top"]) =>
    topCounts(sumCounts(all.map((a) => (a.top[d] ?? []).map((t): [string, number] => [t.value, t.clicks]))), TOP_VALUES).map(([value, clicks]) => ({ value, clicks }));
  return { humans: all.reduce((n, a) => n + a.humans, 0), bots: all.reduce((n, a) => n + a.bots, 0), top: { country: top("country"), referrer: top("referrer"), device: top("device") } };
}

/** Hits split by where they were served; the share is of all hits. Computed here so dashboards only show it. */
function hitSplit(hits: number, memoryHits: number) {
  return { memory_hits: memoryHits, redis_hits: hits - memoryHits, memory_hit_share: hits === 0 ? 0 : Math.round((memoryHits / hits) * 10_000) / 10_000 };
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
