import type postgres from "postgres";
import { InfraError } from "../errors";
import { within } from "./deadline";
import type { PgNode } from "./nodes";

// Arbitrary but fixed: every mover must agree on it. ("shorten" mover lock)
const MOVER_LOCK_KEY = "7271906481325790162";
/** How long a check of the held connection, or taking the lock again, may take. */
const CHECK_MS = 5000;

export interface MoverLock {
  /**
   * After the catalog was away (its primary died, or failed over to its standby) the lock went
   * with the connection: takes it again, or throws when another mover took it meanwhile.
   */
  ensure(): Promise<void>;
  release(): Promise<void>;
}

/**
 * The mover's advisory lock on the catalog, held on a reserved connection for the whole run, so
 * two movers never work at once; it dies with the connection, so a killed mover frees it.
 * Null when another mover holds it.
 */
export async function takeMoverLock(catalog: PgNode): Promise<MoverLock | null> {
  let held = await tryLock(catalog);
  if (held === null) return null;
  return {
    async ensure() {
      // A connection whose node died may never answer (postgres.js loses the query with the socket).
      if (held !== null && (await within(held`select 1`.then(() => true, () => false), CHECK_MS, () => false))) return;
      held = await within(tryLock(catalog), CHECK_MS, () => Promise.reject(new InfraError(catalog.name, `no connection for the mover lock within ${CHECK_MS} ms`, true)));
      if (held === null) throw new Error("another reshard took the mover lock while the catalog was away; this one stops (its checkpoints are saved)");
    },
    async release() {
      if (held === null) return;
      await held`select pg_advisory_unlock(${MOVER_LOCK_KEY}::bigint)`.catch(() => {});
      held.release();
    },
  };
}

async function tryLock(catalog: PgNode): Promise<postgres.ReservedSql | null> {
  const lock = await catalog.client.reserve();
  const [held] = await lock<{ ok: boolean }[]>`select pg_try_advisory_lock(${MOVER_LOCK_KEY}::bigint) as ok`;
  if (held?.ok) return lock;
  lock.release();
  return null;
}
