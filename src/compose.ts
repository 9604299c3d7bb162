import { fileURLToPath } from "node:url";
import { buildApp } from "./app";
import type { Config } from "./config";
import { gcraParams } from "./domain/gcra";
import { clientIp } from "./http/client-ip";
import { IdSource } from "./ids/id-source";
import { RateLimiter } from "./infra/rate-limit/rate-limiter";
import { ClaimRepairQueue } from "./modules/links/claim-repair";
import { LinkService } from "./modules/links/link-service";
import type { LinkObserver } from "./modules/links/outcomes";
import { CacheMetrics } from "./observability/cache-metrics";
import type { Logger } from "./observability/logger";
import { applyMigrations } from "./storage/migrate";
import { ShardSet } from "./storage/shard-set";

const WORKER_FILE = fileURLToPath(new URL("../workers/id-block.worker.ts", import.meta.url));
const MIGRATIONS_DIR = fileURLToPath(new URL("../migrations", import.meta.url));

/**
 * The composition root: the only place that turns config into objects and wires them. main.ts
 * calls it with the parsed env; tests call it with a config of their own.
 */
export function compose(config: Config, logger: Logger, options: { peerAddress?: (request: Request) => string | undefined } = {}) {
  const shards = ShardSet.connect(config.shards, {
    redisPolicy: { timeoutMs: config.REDIS_TIMEOUT_MS, retries: 1, breakAfter: 5, halfOpenAfterMs: config.BREAKER_COOLDOWN_MS },
    dbPolicy: { timeoutMs: config.DB_TIMEOUT_MS, retries: 2, breakAfter: 5, halfOpenAfterMs: config.BREAKER_COOLDOWN_MS },
    dbPoolSize: config.DB_POOL_SIZE,
  });
  const ids = new IdSource({
    instanceId: config.INSTANCE_ID,
    threads: config.ID_WORKERS,
    shardCount: shards.count,
    blockSize: config.ID_BLOCK_SIZE,
    lowWater: config.ID_LOW_WATER,
    workerFile: WORKER_FILE,
  });
  const cacheMetrics = new CacheMetrics(shards.count);
  const observers: LinkObserver[] = [{ onRead: (o) => cacheMetrics.recordRead(o.shard, o.source, o.status === "OK"), onWrite: (o) => cacheMetrics.recordWrite(o.shard, o.status === "OK") }];
  const observer: LinkObserver = {
    onRead: (o) => observers.forEach((x) => x.onRead(o)),
    onWrite: (o) => observers.forEach((x) => x.onWrite(o)),
  };
  const repairs = new ClaimRepairQueue(shards, { intervalMs: 2000, maxPending: 100_000 });
  const publicHost = new URL(config.PUBLIC_BASE_URL).host.toLowerCase();
  const links = new LinkService({
    shards,
    tickets: ids,
    observer,
    repairs,
    urlRules: { maxLength: config.MAX_URL_LENGTH, ownHosts: [publicHost, `${config.HOST}:${config.PORT}`.toLowerCase()] },
    cacheTtlSeconds: config.CACHE_TTL_SECONDS,
  });
  const limiter = config.RATE_LIMIT_ENABLED
    ? new RateLimiter(shards, { create: gcraParams({ perMinute: config.RATE_LIMIT_CREATE_PER_MIN }), redirect: gcraParams({ perMinute: config.RATE_LIMIT_REDIRECT_PER_MIN }) }, config.RATE_LIMIT_WHEN_REDIS_DOWN)
    : null;
  let accepting = false;
  let server: { requestIP(request: Request): { address: string } | null } | null = null;
  const peerAddress = options.peerAddress ?? ((request: Request) => server?.requestIP(request)?.address);

  const app = buildApp({
    logger,
    health: { shards, instanceId: config.INSTANCE_ID, isAccepting: () => accepting },
    links: {
      links,
      limiter,
      clientKey: (request) => clientIp(peerAddress(request), request.headers.get("x-forwarded-for"), config.TRUSTED_PROXIES),
      publicBaseUrl: config.PUBLIC_BASE_URL,
      redirectStatus: config.REDIRECT_STATUS,
      maxBodyBytes: config.MAX_BODY_BYTES,
      notFoundCost: config.RATE_LIMIT_NOT_FOUND_COST,
      instanceId: config.INSTANCE_ID,
    },
  });

  return {
    app,
    shards,
    ids,
    links,
    cacheMetrics,
    repairs,
    observers,
    /** Migrates reachable primaries, fills the id buffers, then starts taking traffic. */
    async start(): Promise<void> {
      await Promise.all(
        shards.shards.map((s) =>
          applyMigrations(s.primary.client, MIGRATIONS_DIR).catch((error: unknown) => logger.warn("migrations skipped; primary unreachable", { node: s.primary.name, error: (error as Error).message })),
        ),
      );
      await ids.start();
      repairs.start();
      accepting = true;
    },
    attachServer(s: typeof server): void {
      server = s;
    },
    stopAccepting(): void {
      accepting = false;
    },
    async close(): Promise<void> {
      accepting = false;
      repairs.stop();
      await ids.close();
      await shards.close();
    },
  };
}

export type Composed = ReturnType<typeof compose>;
