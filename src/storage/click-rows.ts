import type { PgNode } from "./nodes";
import { pgCall } from "./nodes";

/** One flush of one instance's counts to one shard, identified so a retry is applied once. */
export interface ClickBatch {
  id: string;
  instance: string;
  home: number;
  /** The ring version the counts were routed by. */
  epoch: number;
  hour: Date;
  counts: ReadonlyMap<string, number>;
}

/**
 * Applies a batch in one transaction: the batch id is recorded first, and if it was already
 * there (a retry of a flush whose commit we never heard about) nothing is added. False then.
 */
export async function applyClickBatch(node: PgNode, batch: ClickBatch): Promise<boolean> {
  const codes = [...batch.counts.keys()];
  const clicks = codes.map((c) => String(batch.counts.get(c)));
  // Idempotent by its batch id: a retry after a timeout whose commit did land adds nothing.
  return node.policy.run(
    () =>
      node.client.begin(async (tx) => {
        const fresh = await tx`insert into click_batches (batch_id) values (${batch.id}) on conflict do nothing returning 1`;
        if (fresh.length === 0) return false;
        await tx`
          insert into link_clicks (code, hour, instance, home, epoch, clicks)
          select c, ${batch.hour}, ${batch.instance}, ${batch.home}, ${batch.epoch}, n from unnest(${codes}::text[], ${clicks}::bigint[]) as t(c, n)
          on conflict (code, hour, instance, home, epoch) do update set clicks = link_clicks.clicks + excluded.clicks`;
        return true;
      }),
    { idempotent: true },
  );
}

export interface ClickRow {
  hour: Date;
  instance: string;
  home: number;
  epoch: number;
  clicks: number;
}

export async function clickRows(node: PgNode, code: string): Promise<ClickRow[]> {
  const rows = await pgCall(
    node,
    (sql) => sql<{ hour: Date; instance: string; home: number; epoch: string; clicks: string }[]>`select hour, instance, home, epoch::text, clicks::text from link_clicks where code = ${code}`,
    { idempotent: true },
  );
  return rows.map((r) => ({ hour: r.hour, instance: r.instance, home: r.home, epoch: Number(r.epoch), clicks: Number(r.clicks) }));
}

/** Batch ids are only needed while a retry can still come: older ones are forgotten. */
export async function pruneClickBatches(node: PgNode, olderThanHours: number): Promise<void> {
  await pgCall(node, (sql) => sql`delete from click_batches where applied_at < now() - make_interval(hours => ${olderThanHours})`, { idempotent: true });
}
