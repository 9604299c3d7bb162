import { insertRows } from "../../storage/reshard-rows";
import type { MoverContext } from "./mover-context";
import { runScan } from "./scan-step";

/**
 * copy: every row on a source shard that the target ring places elsewhere is inserted on its
 * new owner. A row already there (copied by an earlier run, or written there in `dual`) is left
 * as it is. Returns the rows newly written.
 */
export async function copyStep(ctx: MoverContext, migrationId: string, sources: readonly number[], to: readonly number[]): Promise<number> {
  let written = 0;
  await runScan(ctx, { migrationId, step: "copy", sources, to, resumable: true }, async ({ table, groups }) => {
    let moved = 0;
    await Promise.all(
      [...groups].map(async ([target, rows]) => {
        // Read after the await: `written += await …` would add to a stale total when batches of parallel sources interleave.
        const inserted = await insertRows(ctx.shards.at(target).primary, table, rows);
        written += inserted;
        moved += rows.length;
      }),
    );
    return moved;
  });
  return written;
}
