import type { MovePlan, MovesRequest } from "../../ids/id-block";
import type { PgNode } from "../../storage/nodes";
import type { ShardSet } from "../../storage/shard-set";
import type { ProgressBoard } from "./progress-board";
import type { Throttle } from "./throttle";

/** What every step of the mover works with; built once by the composition root. */
export interface MoverContext {
  shards: ShardSet;
  catalog: PgNode;
  /** The worker pool's bulk ring work. */
  planMoves: (request: MovesRequest) => Promise<MovePlan>;
  /** Rows per keyset batch. */
  batchSize: number;
  throttle: Throttle;
  board: ProgressBoard;
  /** Ctrl-C: steps stop between batches, after their checkpoint is saved. */
  signal: AbortSignal;
  log: (line: string) => void;
}

export class MoverStopped extends Error {
  override readonly name = "MoverStopped";
  constructor() {
    super("stopped; run the same command again to resume from the last checkpoint");
  }
}

export function checkStopped(signal: AbortSignal): void {
  if (signal.aborted) throw new MoverStopped();
}

/** Rows grouped by the shard that owns them under the target ring, for one scanned batch. */
export async function misplaced<R extends { ringKey: string }>(ctx: MoverContext, rows: readonly R[], source: number, to: readonly number[]): Promise<Map<number, R[]>> {
  const plan = await ctx.planMoves({ keys: rows.map((r) => r.ringKey), source, to });
  const groups = new Map<number, R[]>();
  plan.index.forEach((i, k) => {
    const target = plan.to[k]!;
    const list = groups.get(target);
    if (list) list.push(rows[i]!);
    else groups.set(target, [rows[i]!]);
  });
  return groups;
}
