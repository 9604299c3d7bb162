/**
 * Micro-benchmark for the ID source (not a test): `bun bench/id-pool.bench.ts`.
 * Compares (1) codes/s through the pool in bulk blocks, (2) one piscina round trip per request
 * (what a naive design would do on every create), (3) the buffered take() the server uses, and
 * (4) the same work inline. Ratios are within this run, so a noisy machine affects all alike.
 */
import { fileURLToPath } from "node:url";
import { Piscina } from "piscina";
import { encodeBase62 } from "../src/domain/base62";
import { HashRing } from "../src/domain/ring";
import { Snowflake } from "../src/domain/snowflake";
import { IdSource } from "../src/ids/id-source";

const workerFile = fileURLToPath(new URL("../workers/id-block.worker.ts", import.meta.url));
const SHARDS = 3;

async function bulkThroughput(): Promise<number> {
  const pool = new Piscina({ filename: workerFile, minThreads: 2, maxThreads: 2 });
  const blocks = 200;
  const size = 4096;
  await pool.run({ kind: "block", workerId: 0, resumeFrom: null, count: 16, shardCount: SHARDS });
  const t0 = performance.now();
  const states: Array<{ lastMs: number; sequence: number } | null> = [null, null];
  for (let i = 0; i < blocks / 2; i++) {
    const results = await Promise.all([0, 1].map((lane) => pool.run({ kind: "block", workerId: lane, resumeFrom: states[lane], count: size, shardCount: SHARDS })));
    results.forEach((r, lane) => (states[lane] = r.state));
  }
  const seconds = (performance.now() - t0) / 1000;
  await pool.destroy();
  return (blocks * size) / seconds;
}

async function perRequestRoundTrip(): Promise<number> {
  const pool = new Piscina({ filename: workerFile, minThreads: 1, maxThreads: 1 });
  let state = null;
  for (let i = 0; i < 200; i++) state = (await pool.run({ kind: "block", workerId: 0, resumeFrom: state, count: 1, shardCount: SHARDS })).state;
  const n = 5000;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) state = (await pool.run({ kind: "block", workerId: 0, resumeFrom: state, count: 1, shardCount: SHARDS })).state;
  const ns = ((performance.now() - t0) * 1e6) / n;
  await pool.destroy();
  return ns;
}

async function bufferedTake(): Promise<number> {
  const ids = new IdSource({ instanceId: 0, threads: 2, shardCount: SHARDS, blockSize: 8192, lowWater: 4096, workerFile });
  await ids.start();
  const n = 2000;
  let taken = 0;
  let elapsed = 0;
  // Take in small bursts and let refills land between them, as a server's event loop would.
  for (let round = 0; round < 50; round++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) if (ids.takeFor([i % SHARDS, (i + 1) % SHARDS, (i + 2) % SHARDS])) taken++;
    elapsed += performance.now() - t0;
    await Bun.sleep(2);
  }
  await ids.close();
  return (elapsed * 1e6) / taken;
}

function inline(): number {
  const gen = new Snowflake({ workerId: 0, now: Date.now });
  const ring = new HashRing(SHARDS);
  const n = 300_000;
  let sink = 0;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) sink += ring.shardFor(encodeBase62(gen.next()));
  const ns = ((performance.now() - t0) * 1e6) / n;
  if (sink < 0) console.log(sink);
  return ns;
}

const bulk = await bulkThroughput();
const roundTrip = await perRequestRoundTrip();
const buffered = await bufferedTake();
const inlineNs = inline();
console.log("| path | cost | codes/s |");
console.log("| --- | --- | --- |");
console.log(`| pool, bulk blocks of 4096 (2 threads) | ${(1e9 / bulk).toFixed(0)} ns/code | ${Math.round(bulk).toLocaleString("en")} |`);
console.log(`| pool, one round trip per request | ${(roundTrip / 1000).toFixed(1)} µs/code | ${Math.round(1e9 / roundTrip).toLocaleString("en")} |`);
console.log(`| buffered take() (server path) | ${buffered.toFixed(0)} ns/code | ${Math.round(1e9 / buffered).toLocaleString("en")} |`);
console.log(`| inline Snowflake+Base62+ring | ${inlineNs.toFixed(0)} ns/code | ${Math.round(1e9 / inlineNs).toLocaleString("en")} |`);
console.log(`\nper-request round trip / buffered take = ${(roundTrip / buffered).toFixed(0)}x`);
