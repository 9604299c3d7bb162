import type { PgNode } from "./nodes";

// Arbitrary but fixed: every mover must agree on it. ("shorten" mover lock)
const MOVER_LOCK_KEY = "7271906481325790162";

/**
 * The mover's advisory lock on the catalog, held on a reserved connection for the whole run, so
 * two movers never work at once; it dies with the connection, so a killed mover frees it.
 * Null when another mover holds it.
 */
export async function takeMoverLock(catalog: PgNode): Promise<{ release(): Promise<void> } | null> {
  const lock = await catalog.client.reserve();
  const [held] = await lock<{ ok: boolean }[]>`select pg_try_advisory_lock(${MOVER_LOCK_KEY}::bigint) as ok`;
  if (!held?.ok) {
    lock.release();
    return null;
  }
  return {
    async release() {
      await lock`select pg_advisory_unlock(${MOVER_LOCK_KEY}::bigint)`.catch(() => {});
      lock.release();
    },
  };
}
