import { Piscina } from "piscina";
import type { Config } from "../config";
import { applyMigrations } from "../storage/migrate";
import { settledClient } from "../storage/nodes";
import { takeMoverLock } from "../storage/mover-lock";
import { TOPOLOGY_CHANNEL } from "../storage/redis-keys";
import { ShardSet } from "../storage/shard-set";
import { readTopology } from "../storage/topology-rows";
import { catalogView } from "../topology/catalog-view";
import { planMovesOn } from "../topology/move-planner";
import { Coordinator } from "../topology/mover/coordinator";
import { ProgressBoard } from "../topology/mover/progress-board";
import { Throttle } from "../topology/mover/throttle";
import { MIGRATIONS_DIR, WORKER_FILE } from "./paths";
import { moverPublisher } from "./redis-clients";

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
 * as the server. It holds the mover lock on the catalog for its whole run (storage/mover-lock.ts).
 */
export async function composeMover(config: Config, options: MoverOptions) {
  // Batches are bigger than a request's queries: a longer deadline, the same retries.
  const shards = ShardSet.connect(config.shards, {
    redisPolicy: { timeoutMs: Math.max(config.REDIS_TIMEOUT_MS, 2000), retries: 1, breakAfter: 5, halfOpenAfterMs: config.BREAKER_COOLDOWN_MS },
    dbPolicy: { timeoutMs: Math.max(config.DB_TIMEOUT_MS, 15_000), retries: 2, breakAfter: 5, halfOpenAfterMs: config.BREAKER_COOLDOWN_MS },
    dbPoolSize: 4,
  });
  const catalog = shards.at(0).primary;
  const lock = await takeMoverLock(catalog);
  if (!lock) {
    await shards.close();
    throw new Error("another reshard is running against this cluster (its lock on shard 0 is held)");
  }
  const pool = new Piscina({ filename: WORKER_FILE, minThreads: 1, maxThreads: 1 });
  const publisher = moverPublisher(config.EVENT_BUS_REDIS ?? config.shards[0]!.redis);
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
    migrate: async (shard) => void (await applyMigrations(await settledClient(shards.at(shard).primary), MIGRATIONS_DIR)),
    publish: async (view) => void (await publisher.publish(TOPOLOGY_CHANNEL, JSON.stringify({ kind: "topology", ...view }))),
    liveMs: config.TOPOLOGY_LIVE_MS,
    graceMs: options.graceMs,
    tickMs: 250,
    resumed: () => lock.ensure(),
  });
  return {
    coordinator,
    async status() {
      const stored = await readTopology(catalog);
      if (!stored) throw new Error("the catalog has no ring yet: start an instance once");
      return catalogView(catalog, stored, config.TOPOLOGY_LIVE_MS);
    },
    async close(): Promise<void> {
      await lock.release();
      publisher.disconnect();
      await pool.destroy();
      await shards.close();
    },
  };
}
