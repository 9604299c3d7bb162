#!/usr/bin/env bun
/**
 * The baseline for creates: raw postgres.js INSERTs into the same shard primaries, with the same
 * pool size per node as the app (DB_POOL_SIZE) and the same concurrency as the load tool's
 * connections, round-robin over the shards like the app's writes. No HTTP, no validation.
 *
 *   PRIMARIES=postgres://...,postgres://... CONCURRENCY=32 DURATION_S=8 MODE=insert bun bench/baselines/raw-insert.ts
 *
 * MODE=insert:     one `insert into links` per operation (the durable minimum of a create).
 * MODE=create-sql: the statement a create of one new URL runs (url_index claim + link insert in
 *                  one CTE, on the URL's own shard), one per op, to split protocol cost from
 *                  HTTP/app cost.
 * MODE=group-commit: the app's own write path without HTTP, Redis or ids: src/modules/links/
 *                  create-batcher.ts over src/storage/link-rows.ts createLinksWithIndex on a
 *                  PgNode built as the app builds it (pool POOL_SIZE, policy), one batcher for all
 *                  workers, so concurrent ops for one shard share a statement while the previous
 *                  is in flight. Reports statements and creates per statement too.
 * Ids are negative, so they never collide with the app's Snowflake ids on the same tables.
 * Prints `BENCH_JSON {...}` with ops, ops_per_s and latency percentiles (ms).
 */
import { createHash } from "node:crypto";
import postgres from "postgres";
import { CreateBatcher } from "../../src/modules/links/create-batcher";
import { createLinksWithIndex, type NewLink } from "../../src/storage/link-rows";
import { createPgNode } from "../../src/storage/nodes";

const primaries = (process.env.PRIMARIES ?? "").split(",").filter(Boolean);
const concurrency = Number(process.env.CONCURRENCY ?? 32);
const durationMs = Number(process.env.DURATION_S ?? 8) * 1000;
const poolSize = Number(process.env.POOL_SIZE ?? 8);
const mode = process.env.MODE === "create-sql" || process.env.MODE === "group-commit" ? process.env.MODE : "insert";
if (primaries.length === 0) {
  console.error("raw-insert: PRIMARIES is missing");
  process.exit(1);
}

const pools = primaries.map((url) => postgres(url, { max: poolSize, onnotice: () => {}, idle_timeout: 30, connection: { application_name: "bench-raw-insert" } }));
// group-commit: the app's nodes and batcher (the app's DB policy: 1 s deadline, 2 retries).
const nodes = mode === "group-commit" ? primaries.map((url, i) => createPgNode(`raw-primary-${i}`, "primary", url, { timeoutMs: 1000, retries: 2, breakAfter: 5, halfOpenAfterMs: 2000 }, poolSize)) : [];
const batcher = new CreateBatcher<NewLink, string>((shard, links) => createLinksWithIndex(nodes[shard]!, links), () => false);
const run = `${process.pid.toString(36)}${Date.now().toString(36)}`;
const idBase = -BigInt(Date.now()) * 1_000_000n;
let seq = 0;
let ops = 0;
let errors = 0;
const latencies: number[] = [];

async function one(): Promise<void> {
  const n = seq++;
  const sql = pools[n % pools.length]!;
  const code = `rb${run}${n.toString(36)}`;
  const id = (idBase - BigInt(n)).toString();
  const longUrl = `https://raw.bench.example/${run}/${n}`;
  if (mode === "insert") {
    await sql`insert into links (code, id, long_url) values (${code}, ${id}, ${longUrl})`;
    return;
  }
  const hash = createHash("sha256").update(longUrl).digest();
  if (mode === "group-commit") {
    const winner = await batcher.submit(n % nodes.length, { id: idBase - BigInt(n), code, longUrl, urlHash: hash, owner: null });
    if (winner !== code) throw new Error(`group-commit: ${longUrl} got ${winner}, not ${code}`);
    return;
  }
  await sql`
    with claim as (
      insert into url_index (url_hash, long_url, code) values (${hash}, ${longUrl}, ${code})
      on conflict (url_hash) do nothing
      returning code
    ), link as (
      insert into links (code, id, long_url) select ${code}, ${id}, ${longUrl} from claim returning code
    )
    select code from link
    union all
    select code from url_index where url_hash = ${hash} and not exists (select 1 from claim)
    limit 1`;
}

async function worker(deadline: number): Promise<void> {
  while (performance.now() < deadline) {
    const t = performance.now();
    try {
      await one();
      ops++;
      latencies.push(performance.now() - t);
    } catch {
      errors++;
    }
  }
}

// Warm the pools (connections open lazily) so connection setup is not measured.
await Promise.all([...pools, ...nodes.map((n) => n.client)].map((sql) => Promise.all(Array.from({ length: poolSize }, () => sql`select 1`))));
const started = performance.now();
await Promise.all(Array.from({ length: concurrency }, () => worker(started + durationMs)));
const seconds = (performance.now() - started) / 1000;
latencies.sort((a, b) => a - b);
const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
console.log(
  `BENCH_JSON ${JSON.stringify({ mode, ops, errors, seconds, ops_per_s: ops / seconds, concurrency, pool_size: poolSize, latency_ms: { p50: pct(50), p95: pct(95), p99: pct(99), max: latencies[latencies.length - 1] ?? 0 }, ...(mode === "group-commit" ? { statements: batcher.figures.statements, per_statement: batcher.figures.items / Math.max(1, batcher.figures.statements) } : {}) })}`,
);
await Promise.all([...pools, ...nodes.map((n) => n.client)].map((sql) => sql.end({ timeout: 2 })));
