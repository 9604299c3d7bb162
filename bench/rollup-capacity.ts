#!/usr/bin/env bun
/**
 * How many rollup rows one shard's primary takes per second, and so at what click rate the
 * per-shard rollups stop keeping up: `bun bench/rollup-capacity.ts [--seconds S (15)]`.
 * A 1-shard throwaway cluster with fsync on (as deployed); the flush statement itself
 * (`applyClickBatch`, one transaction per batch) from 1 and 3 writers (instances) at once, with
 * batches of 2,000 and 10,000 links, each link with the rows a real click mix makes (1 count row,
 * 12 breakdown rows over six dimensions, 1 sketch of 5 visitors). Two shapes: every flush new links
 * (inserts: a long tail) and the same links every flush (updates: a hot set within the hour).
 * Writes bench/results/<stamp>-rollup-capacity.md.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import { clusterDir, clusterDown, clusterEnvVars, clusterUpOnFreePorts, readState, REPO_ROOT } from "../scripts/cluster/index";
import { parseConfig } from "../src/config";
import { MIGRATIONS_DIR } from "../src/composition/paths";
import type { LinkRollup } from "../src/domain/click-dimensions";
import { applyClickBatch } from "../src/storage/click-rows";
import { rollupColumns } from "../src/storage/rollup-columns";
import { applyMigrations } from "../src/storage/migrate";
import { ShardSet } from "../src/storage/shard-set";
import { numberFlag } from "./lib/args";

const SECONDS = numberFlag(Bun.argv, "seconds", 15);
const NAME = `rollup-${process.pid}`;
const DIMS: Array<[LinkRollup["dims"][number][0], string[]]> = [
  ["country", ["US", "DE", "GB"]],
  ["referrer", ["direct", "google.com"]],
  ["device", ["desktop"]],
  ["browser", ["Chrome", "Safari"]],
  ["os", ["Windows", "iOS"]],
  ["language", ["en", "de"]],
];
const ROWS_PER_LINK = 1 + DIMS.reduce((n, [, v]) => n + v.length, 0) + 1;

await clusterUpOnFreePorts({ name: NAME, shards: 1, firstBase: 47_000, slots: 20, fast: false });
const parsed = parseConfig({ ...clusterEnvVars(readState(clusterDir(REPO_ROOT, NAME))), LOG_LEVEL: "error" });
if (!parsed.ok) throw new Error(parsed.message);
const config = parsed.config;
const migrator = postgres(config.shards[0]!.primary, { max: 1, onnotice: () => {} });
await applyMigrations(migrator, MIGRATIONS_DIR);
await migrator.end();
const policy = { timeoutMs: 60_000, retries: 0, breakAfter: 1000, halfOpenAfterMs: 500 };
const shards = ShardSet.connect(config.shards, { redisPolicy: policy, dbPolicy: policy, dbPoolSize: 4 });
const primary = shards.at(0).primary;

function rollupsOf(codes: string[]): LinkRollup[] {
  return codes.map((code, i) => ({
    code,
    humans: 9,
    bots: 1,
    dims: DIMS.flatMap(([d, values]) => values.map((v) => [d, v, 5, 4] as [typeof d, string, number, number])),
    visitors: Array.from({ length: 5 }, (_, k) => String(i * 7919 + k * 104_729)),
  }));
}

let seq = 0;
/** `writers` loops, each applying batches of `links` links for SECONDS: rows written per second. */
async function measure(writers: number, links: number, fresh: boolean): Promise<{ rowsPerSecond: number; batchMs: number }> {
  const hour = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000);
  const fixed = Array.from({ length: writers }, (_, w) => Array.from({ length: links }, (_, i) => `hot${w}x${i}x${process.pid}`));
  let rows = 0;
  let batches = 0;
  const until = performance.now() + SECONDS * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      while (performance.now() < until) {
        const codes = fresh ? Array.from({ length: links }, (_, i) => `new${seq}x${w}x${i}`) : fixed[w]!;
        seq++;
        await applyClickBatch(primary, { id: `bench:${process.pid}:${seq}`, instance: `instance-${w}`, home: 0, epoch: 1, hour, counts: new Map(codes.map((c) => [c, 10])), rollups: rollupColumns(rollupsOf(codes)) });
        rows += links * ROWS_PER_LINK;
        batches++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { rowsPerSecond: rows / seconds, batchMs: (seconds * 1000 * writers) / batches };
}

try {
  const lines: string[] = [];
  for (const fresh of [true, false]) {
    for (const writers of [1, 3]) {
      for (const links of [2000, 10_000]) {
        const r = await measure(writers, links, fresh);
        const line = `| ${fresh ? "new links every flush (inserts)" : "the same links every flush (updates)"} | ${writers} | ${links.toLocaleString("en")} | ${Math.round(r.batchMs)} ms | ${Math.round(r.rowsPerSecond).toLocaleString("en")} |`;
        console.log(line);
        lines.push(line);
      }
    }
  }
  const report = [
    "# Rollup capacity of one shard",
    "",
    `${new Date().toISOString()}: one PostgreSQL 15 primary (fsync on) with its streaming replica, ${SECONDS} s per row; each link carries ${ROWS_PER_LINK} rows (1 count, ${ROWS_PER_LINK - 2} breakdown, 1 sketch of 5 visitors), one transaction per batch as the flusher writes them.`,
    "",
    "| shape | writers (instances) | links per batch | time per batch | rows/s |",
    "| --- | --- | --- | --- | --- |",
    ...lines,
  ].join("\n");
  const file = join(REPO_ROOT, "bench/results", `${new Date().toISOString().replace(/[:.]/g, "-").replace(/Z$/, "")}-rollup-capacity.md`);
  writeFileSync(file, `${report}\n`);
  console.log(`${report}\n\nreport: ${file}`);
} finally {
  await shards.close();
  await clusterDown({ name: NAME, wipe: true });
}
