/**
 * Micro-benchmark for the ID source (not a test): `bun bench/id-pool.bench.ts`.
 * Compares (1) codes/s through the pool in bulk blocks, (2) one piscina round trip per request
 * (what a naive design would do on every create), (3) the buffered take() the server uses, and
 * (4) the same work inline; then (5) what a block costs to cross threads in each wire format.
 * Ratios are within one run, so a noisy machine affects all rows alike; absolute numbers are not.
 */
import { deserialize, serialize } from "bun:jsc";
import { fileURLToPath } from "node:url";
import { Piscina } from "piscina";
import { encodeBase62 } from "../src/domain/base62";
import { HashRing } from "../src/domain/ring";
import { Snowflake, type SnowflakeState } from "../src/domain/snowflake";
import { blockCodes, generateBlock, type Block, type IdWorkerTask } from "../src/ids/id-block";
import { IdSource } from "../src/ids/id-source";

const workerFile = fileURLToPath(new URL("../workers/id-block.worker.ts", import.meta.url));
const SHARDS = 3;
const MEMBERS = [0, 1, 2];
const BLOCK = 4096;

function blockTask(workerId: number, resumeFrom: SnowflakeState | null, count: number): IdWorkerTask {
  return { kind: "block", workerId, resumeFrom, count, members: MEMBERS };
}

/** Two lanes, one block in flight each, as IdSource runs them; includes unpacking on the main thread. */
async function bulkNsPerCode(): Promise<number> {
  const pool = new Piscina({ filename: workerFile, minThreads: 2, maxThreads: 2 });
  const states: Array<SnowflakeState | null> = [null, null];
  const round = async () => {
    const blocks: Block[] = await Promise.all([0, 1].map((lane) => pool.run(blockTask(lane, states[lane]!, BLOCK))));
    blocks.forEach((b, lane) => {
      states[lane] = b.state;
      blockCodes(b);
    });
  };
  for (let i = 0; i < 10; i++) await round();
  const rounds = 100;
  const t0 = performance.now();
  for (let i = 0; i < rounds; i++) await round();
  const ns = ((performance.now() - t0) * 1e6) / (rounds * 2 * BLOCK);
  await pool.destroy();
  return ns;
}

async function roundTripNs(): Promise<number> {
  const pool = new Piscina({ filename: workerFile, minThreads: 1, maxThreads: 1 });
  let state: SnowflakeState | null = null;
  for (let i = 0; i < 500; i++) state = ((await pool.run(blockTask(0, state, 1))) as Block).state;
  const n = 5000;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) state = ((await pool.run(blockTask(0, state, 1))) as Block).state;
  const ns = ((performance.now() - t0) * 1e6) / n;
  await pool.destroy();
  return ns;
}

async function takeNs(): Promise<{ ns: number; misses: number }> {
  const ids = new IdSource({ instanceId: 0, threads: 2, shardSlots: SHARDS, members: MEMBERS, blockSize: 8192, lowWater: 4096, workerFile });
  await ids.start();
  let taken = 0;
  let misses = 0;
  let elapsed = 0;
  // Bursts of 1000 with a pause between, as a server's event loop would let refills land.
  // The first 20 bursts warm the JIT and are not counted.
  for (let round = 0; round < 120; round++) {
    const t0 = performance.now();
    let got = 0;
    for (let i = 0; i < 1000; i++) if (ids.takeFor([i % SHARDS, (i + 1) % SHARDS, (i + 2) % SHARDS])) got++;
    if (round >= 20) {
      elapsed += performance.now() - t0;
      taken += got;
      misses += 1000 - got;
    }
    await Bun.sleep(2);
  }
  await ids.close();
  return { ns: (elapsed * 1e6) / taken, misses };
}

function inlineNs(): number {
  const gen = new Snowflake({ workerId: 0, now: Date.now });
  const ring = new HashRing(SHARDS);
  let sink = 0;
  const run = (n: number) => {
    for (let i = 0; i < n; i++) sink += ring.shardFor(encodeBase62(gen.next()));
  };
  run(50_000);
  const n = 300_000;
  const t0 = performance.now();
  run(n);
  const ns = ((performance.now() - t0) * 1e6) / n;
  if (sink < 0) console.log(sink);
  return ns;
}

/** Structured-clone cost of one block in three shapes: µs to serialize (worker) and deserialize (main). */
function wireFormats(): Array<{ format: string; kb: number; serializeUs: number; deserializeUs: number }> {
  const block = generateBlock(blockTask(1, null, BLOCK) as Extract<IdWorkerTask, { kind: "block" }>);
  const codes = blockCodes(block);
  const shapes: Record<string, unknown> = {
    "ticket objects": codes.map((code, i) => ({ id: block.ids[i]!, code, shard: block.shards[i]! })),
    "typed arrays + string[]": { ids: block.ids, codes, shards: block.shards },
    "typed arrays + joined string (used)": block,
  };
  return Object.entries(shapes).map(([format, value]) => {
    const bytes = serialize(value);
    for (let i = 0; i < 30; i++) deserialize(serialize(value));
    const n = 200;
    let t0 = performance.now();
    for (let i = 0; i < n; i++) serialize(value);
    const serializeUs = ((performance.now() - t0) * 1000) / n;
    t0 = performance.now();
    for (let i = 0; i < n; i++) deserialize(bytes);
    const deserializeUs = ((performance.now() - t0) * 1000) / n;
    return { format, kb: bytes.byteLength / 1024, serializeUs, deserializeUs };
  });
}

const bulk = await bulkNsPerCode();
const trip = await roundTripNs();
const take = await takeNs();
const inline = inlineNs();
const perSec = (ns: number) => Math.round(1e9 / ns).toLocaleString("en");

console.log(`\nID source, ${SHARDS} shards (Bun ${Bun.version})\n`);
console.log("| path | ns/code | codes/s |");
console.log("| --- | ---: | ---: |");
console.log(`| pool, bulk blocks of ${BLOCK} (2 threads) | ${bulk.toFixed(0)} | ${perSec(bulk)} |`);
console.log(`| pool, one round trip per request (5k sequential run() for 1 id) | ${trip.toFixed(0)} | ${perSec(trip)} |`);
console.log(`| buffered take() (server path) | ${take.ns.toFixed(0)} | ${perSec(take.ns)} |`);
console.log(`| inline Snowflake+Base62+ring | ${inline.toFixed(0)} | ${perSec(inline)} |`);
console.log(`\nround trip / take() = ${(trip / take.ns).toFixed(0)}x; round trip / inline = ${(trip / inline).toFixed(0)}x; inline / take() = ${(inline / take.ns).toFixed(1)}x; take() misses: ${take.misses}`);

console.log(`\nOne block of ${BLOCK} crossing threads (structured clone)\n`);
console.log("| format | KiB | serialize µs | deserialize µs |");
console.log("| --- | ---: | ---: | ---: |");
for (const f of wireFormats()) console.log(`| ${f.format} | ${f.kb.toFixed(0)} | ${f.serializeUs.toFixed(0)} | ${f.deserializeUs.toFixed(0)} |`);
