import { countRows, MOVABLE_TABLES, scanRows, type MovableRow, type MovableTable } from "../../storage/reshard-rows";
import { loadCheckpoints, saveCheckpoint, type Checkpoint } from "../../storage/topology-rows";
import { checkStopped, misplaced, type MoverContext } from "./mover-context";

export interface ScanBatch {
  source: number;
  table: MovableTable;
  rows: MovableRow[];
  /** The batch's rows that another shard owns under the target ring, by owner. */
  groups: Map<number, MovableRow[]>;
}

export interface ScanPlan {
  migrationId: string;
  step: "copy" | "verify" | "cleanup";
  sources: readonly number[];
  /** The ring rows must end up on. */
  to: readonly number[];
  /** Keep keyset checkpoints in the catalog, so a rerun continues where the last one stopped. */
  resumable: boolean;
}

/**
 * Walks every row of `links` and `url_index` on each source shard in keyset batches (sources in
 * parallel, tables one after the other), hands each batch and its misplaced rows to `onBatch`,
 * and saves a checkpoint after the batch is done. A checkpoint is written only after the batch's
 * work, so a crash repeats at most one batch, which every step tolerates (its writes are
 * idempotent). `onBatch` returns how many rows it moved.
 */
export async function runScan(ctx: MoverContext, plan: ScanPlan, onBatch: (batch: ScanBatch) => Promise<number>): Promise<void> {
  const saved = plan.resumable ? await loadCheckpoints(ctx.catalog, plan.migrationId, plan.step) : [];
  await Promise.all(
    plan.sources.map(async (source) => {
      for (const table of MOVABLE_TABLES) {
        const previous = saved.find((c) => c.source === source && c.table === table);
        await scanOne(ctx, plan, source, table, previous, onBatch);
      }
    }),
  );
}

async function scanOne(ctx: MoverContext, plan: ScanPlan, source: number, table: MovableTable, previous: Checkpoint | undefined, onBatch: (batch: ScanBatch) => Promise<number>): Promise<void> {
  const node = ctx.shards.at(source).primary;
  const checkpoint: Checkpoint = previous ?? { source, table, lastKey: null, scanned: 0, moved: 0, total: await countRows(node, table), done: false };
  ctx.board.begin({ step: plan.step, source, table, scanned: checkpoint.scanned, total: checkpoint.total, moved: checkpoint.moved, done: checkpoint.done });
  while (!checkpoint.done) {
    checkStopped(ctx.signal);
    const rows = await scanRows(node, table, checkpoint.lastKey, ctx.batchSize);
    if (rows.length === 0) {
      checkpoint.done = true;
    } else {
      const groups = await misplaced(ctx, rows, source, plan.to);
      const moved = await onBatch({ source, table, rows, groups });
      checkpoint.moved += moved;
      checkpoint.scanned += rows.length;
      checkpoint.total = Math.max(checkpoint.total, checkpoint.scanned);
      checkpoint.lastKey = rows[rows.length - 1]!.key;
    }
    if (plan.resumable) await saveCheckpoint(ctx.catalog, plan.migrationId, plan.step, checkpoint);
    ctx.board.update(plan.step, source, table, checkpoint);
    await ctx.throttle.take(rows.length);
  }
}
