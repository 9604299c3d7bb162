import { deleteRows, findRows, insertRows } from "../../storage/reshard-rows";
import { redisCall } from "../../storage/nodes";
import type { MoverContext } from "./mover-context";
import { runScan } from "./scan-step";

export interface CleanupReport {
  deleted: number;
  deleted_by_table: Record<string, number>;
  cache_keys_deleted: number;
  /** Rows left in place because their owner did not have them even after one more copy. */
  kept: number;
}

/**
 * cleanup: rows that now live on their new owner are deleted from every other shard, with their
 * Redis keys there. A row is deleted only after it is seen on its owner (copied once more first
 * if it is not), so cleanup can never lose a link; it runs after every instance reads the new
 * ring alone, plus a grace period for reads that started before.
 */
export async function cleanupStep(ctx: MoverContext, migrationId: string, shards: readonly number[], to: readonly number[]): Promise<CleanupReport> {
  const report: CleanupReport = { deleted: 0, deleted_by_table: {}, cache_keys_deleted: 0, kept: 0 };
  await runScan(ctx, { migrationId, step: "cleanup", sources: shards, to, resumable: true }, async ({ source, table, groups }) => {
    let moved = 0;
    for (const [target, rows] of groups) {
      const owner = ctx.shards.at(target).primary;
      await insertRows(owner, table, rows);
      const there = new Set((await findRows(owner, table, rows.map((r) => r.key))).map((r) => r.key.toString("hex")));
      const safe = rows.filter((r) => there.has(r.key.toString("hex")));
      report.kept += rows.length - safe.length;
      const deleted = await deleteRows(ctx.shards.at(source).primary, table, safe.map((r) => r.key));
      report.deleted += deleted;
      report.deleted_by_table[table] = (report.deleted_by_table[table] ?? 0) + deleted;
      const redis = ctx.shards.at(source).redis;
      const cacheKeys = safe.flatMap((row) => (row.cacheKey === null ? [] : [row.cacheKey]));
      const keysDeleted = cacheKeys.length > 0 ? await redisCall(redis, (r) => r.del(...cacheKeys), { idempotent: true }).catch(() => 0) : 0;
      report.cache_keys_deleted += keysDeleted;
      moved += safe.length;
    }
    return moved;
  });
  return report;
}
