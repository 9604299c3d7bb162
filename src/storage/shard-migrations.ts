import type { Logger } from "../observability/logger";
import { applyMigrations } from "./migrate";
import { waitOutNodeFaults } from "./node-fault-wait";
import { settledClient, type PgNode } from "./nodes";

/** How long a starting server waits for a primary that is coming up before it starts without it. */
const START_WAIT_MS = 10_000;
const RETRY_MS = 2000;

/**
 * The schema on every shard's primary. At start each primary gets START_WAIT_MS to answer (a
 * node still coming up, or restarted by its HA keeper, refuses connections for a moment); one
 * that does not is migrated in the background as soon as it answers, so a shard that comes back
 * later never serves without its tables. `stop` ends the background attempts.
 */
export async function migrateShards(primaries: readonly PgNode[], dir: string, logger: Logger): Promise<{ stop: () => void }> {
  const timers = new Set<ReturnType<typeof setTimeout>>();
  let stopped = false;
  const migrate = async (node: PgNode) => void (await applyMigrations(await settledClient(node), dir));
  const later = (node: PgNode) => {
    if (stopped) return;
    const timer = setTimeout(() => {
      timers.delete(timer);
      migrate(node).then(
        () => logger.info("migrations applied once the primary answered", { node: node.name }),
        () => later(node),
      );
    }, RETRY_MS);
    timer.unref?.();
    timers.add(timer);
  };
  await Promise.all(
    primaries.map((node) =>
      waitOutNodeFaults(() => migrate(node), { log: () => {}, pauseMs: 250, giveUpAfterMs: START_WAIT_MS }).catch((error: unknown) => {
        logger.warn("migrations pending; primary unreachable, retrying in the background", { node: node.name, error: (error as Error).message });
        later(node);
      }),
    ),
  );
  return {
    stop: () => {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
    },
  };
}
