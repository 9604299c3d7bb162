import { findRows, insertRows, type MovableRow, type MovableTable } from "../../storage/reshard-rows";
import type { MoverContext } from "./mover-context";
import { runScan } from "./scan-step";

export interface PairReport {
  source: number;
  target: number;
  table: MovableTable;
  count: number;
  source_checksum: string;
  target_checksum: string;
}

export interface Difference {
  source: number;
  target: number;
  table: MovableTable;
  key: string;
  problem: "missing" | "different";
}

export interface VerifyReport {
  pairs: PairReport[];
  /** Rows missing on their owner that verify copied itself (written late, after their batch was copied). */
  caught_up: number;
  differences: number;
  /** The first differing keys, for the operator. */
  examples: Difference[];
}

const MAX_EXAMPLES = 20;

/**
 * verify: per (source, target, table), the count and an order-independent checksum of the moved
 * rows on both sides. A row missing on its owner is copied once more and looked up again (a
 * catch-up, as Vitess does before VDiff); only what still differs after that is a difference.
 * Not resumable: a rerun verifies everything again, so its sums are always over every row.
 */
export async function verifyStep(ctx: MoverContext, migrationId: string, sources: readonly number[], to: readonly number[]): Promise<VerifyReport> {
  const pairs = new Map<string, { source: number; target: number; table: MovableTable; count: number; sourceSum: bigint; targetSum: bigint }>();
  const report: VerifyReport = { pairs: [], caught_up: 0, differences: 0, examples: [] };
  await runScan(ctx, { migrationId, step: "verify", sources, to, resumable: false }, async ({ source, table, groups }) => {
    let moved = 0;
    for (const [target, rows] of groups) {
      const node = ctx.shards.at(target).primary;
      let found = byKey(await findRows(node, table, rows.map((r) => r.key)));
      // Missing, or behind (a click count that grew on the old owner after its copy): copied once more.
      const missing = rows.filter((r) => found.get(r.key.toString("hex"))?.fingerprint !== r.fingerprint);
      if (missing.length > 0) {
        const inserted = await insertRows(node, table, missing);
        report.caught_up += inserted;
        found = byKey(await findRows(node, table, rows.map((r) => r.key)));
      }
      const pair = pairs.get(`${source}/${target}/${table}`) ?? { source, target, table, count: 0, sourceSum: 0n, targetSum: 0n };
      pairs.set(`${source}/${target}/${table}`, pair);
      for (const row of rows) {
        const there = found.get(row.key.toString("hex"));
        pair.count++;
        pair.sourceSum = (pair.sourceSum + checksum(row)) & MASK;
        if (there) pair.targetSum = (pair.targetSum + checksum(there)) & MASK;
        const problem = !there ? "missing" : there.fingerprint !== row.fingerprint ? "different" : null;
        if (problem) {
          report.differences++;
          if (report.examples.length < MAX_EXAMPLES) report.examples.push({ source, target, table, key: row.ringKey.slice(0, 200), problem });
        }
      }
      moved += rows.length;
    }
    return moved;
  });
  report.pairs = [...pairs.values()].map((p) => ({ source: p.source, target: p.target, table: p.table, count: p.count, source_checksum: hex(p.sourceSum), target_checksum: hex(p.targetSum) }));
  return report;
}

const MASK = (1n << 64n) - 1n;

function checksum(row: MovableRow): bigint {
  return BigInt.asUintN(64, BigInt(Bun.hash(row.fingerprint)));
}

function hex(n: bigint): string {
  return n.toString(16).padStart(16, "0");
}

function byKey(rows: MovableRow[]): Map<string, MovableRow> {
  return new Map(rows.map((r) => [r.key.toString("hex"), r]));
}
