import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Piscina } from "piscina";
import { decodeBase62, encodeBase62 } from "../../src/domain/base62";
import { HashRing } from "../../src/domain/ring";
import { parseSnowflake } from "../../src/domain/snowflake";
import { asServiceError, NoTicketError } from "../../src/errors";
import { blockCodes, generateBlock, planMoves } from "../../src/ids/id-block";
import { IdSource, type IdSourceOptions, type IdTicket } from "../../src/ids/id-source";
import { planMovesOn } from "../../src/topology/move-planner";

const workerFile = fileURLToPath(new URL("../../workers/id-block.worker.ts", import.meta.url));
const faultyWorkerFile = fileURLToPath(new URL("../support/faulty-id-worker.ts", import.meta.url));
// Read by the faulty worker's threads, which take a copy of the environment when they start.
const faultDir = mkdtempSync(join(tmpdir(), "shorten-id-fault-"));
process.env.SHORTEN_ID_FAULT_DIR = faultDir;
/** Lane `lane`'s next block (worker id INSTANCE * 16 + lane) fails that way, once. */
function injectFault(fault: "throw" | "exit" | "hang", lane = 0): void {
  writeFileSync(join(faultDir, `lane-${LANE0 + lane}`), fault);
}
const INSTANCE = 5;
const LANE0 = INSTANCE * 16;

const sources: IdSource[] = [];
function source(options: Partial<IdSourceOptions> = {}): IdSource {
  const s = new IdSource({ instanceId: INSTANCE, threads: 2, shardSlots: 3, members: [0, 1, 2], blockSize: 4096, lowWater: 2048, workerFile, ...options });
  sources.push(s);
  return s;
}
afterAll(async () => {
  await Promise.all(sources.map((s) => s.close()));
});

/** Takes `n` tickets round-robin over the shards, waiting only when a buffer is empty. */
async function drain(ids: IdSource, n: number, shardCount: number, onTicket: (t: IdTicket) => void): Promise<void> {
  for (let i = 0; i < n; i++) {
    const shard = i % shardCount;
    onTicket(ids.take(shard) ?? (await ids.takeAsync(shard)));
  }
}

describe("id blocks (pure)", () => {
  test("a block's codes are the Base62 of its ids and sit on the ring's shard", () => {
    const block = generateBlock({ workerId: 9, resumeFrom: null, count: 2000, members: [0, 1, 2, 3] });
    const ring = new HashRing(4);
    const codes = blockCodes(block);
    expect(codes.length).toBe(2000);
    codes.forEach((code, i) => {
      expect(decodeBase62(code)).toBe(block.ids[i]!);
      expect(block.shards[i]).toBe(ring.shardFor(code));
      expect(parseSnowflake(block.ids[i]!).workerId).toBe(9);
    });
  });

  test("the ring is per (members, vnodes)", () => {
    const block = generateBlock({ workerId: 9, resumeFrom: null, count: 2000, members: [0, 1, 2, 3], vnodes: 16 });
    const ring = new HashRing(4, 16);
    const fallback = new HashRing(4);
    const codes = blockCodes(block);
    codes.forEach((code, i) => expect(block.shards[i]).toBe(ring.shardFor(code)));
    expect(codes.some((code) => ring.shardFor(code) !== fallback.shardFor(code))).toBe(true);
  });

  test("a block resumed from the previous block's state continues after it", () => {
    const a = generateBlock({ workerId: 9, resumeFrom: null, count: 5000, members: [0, 1, 2] });
    const b = generateBlock({ workerId: 9, resumeFrom: a.state, count: 5000, members: [0, 1, 2] });
    expect(b.ids[0]! > a.ids[4999]!).toBe(true);
    expect(new Set([...blockCodes(a), ...blockCodes(b)]).size).toBe(10_000);
  });

  test("a block refuses a count it cannot make", () => {
    expect(() => generateBlock({ workerId: 1, resumeFrom: null, count: 0, members: [0, 1, 2] })).toThrow(RangeError);
    expect(() => generateBlock({ workerId: 1, resumeFrom: { lastMs: 5, sequence: 9999 }, count: 1, members: [0, 1, 2] })).toThrow(RangeError);
  });

  test("planMoves lists exactly the keys on a shard that another shard owns under the new ring", () => {
    const codes = blockCodes(generateBlock({ workerId: 1, resumeFrom: null, count: 3000, members: [0, 1, 2] }));
    const three = new HashRing(3);
    const four = new HashRing(4);
    const onShard1 = codes.filter((c) => three.shardFor(c) === 1);
    const plan = planMoves({ keys: onShard1, source: 1, to: [0, 1, 2, 3] });
    const expected = onShard1.flatMap((c, i) => (four.shardFor(c) !== 1 ? [i] : []));
    expect(expected.length).toBeGreaterThan(0);
    expect([...plan.index]).toEqual(expected);
    // Adding a shard only takes keys: everything that leaves shard 1 goes to the new shard 3.
    expect([...new Set(plan.to)]).toEqual([3]);
  });

  test("planMoves for a drain sends every key of the drained shard elsewhere, none to itself", () => {
    const codes = blockCodes(generateBlock({ workerId: 2, resumeFrom: null, count: 3000, members: [0, 1, 2, 3] }));
    const four = new HashRing(4);
    const onShard1 = codes.filter((c) => four.shardFor(c) === 1);
    const plan = planMoves({ keys: onShard1, source: 1, to: [0, 2, 3] });
    expect(plan.index.length).toBe(onShard1.length);
    const drained = new HashRing([0, 2, 3]);
    plan.index.forEach((i, k) => expect(plan.to[k]).toBe(drained.shardFor(onShard1[i]!)));
    expect(new Set(plan.to).has(1)).toBe(false);
  });
});

describe("IdSource over piscina", () => {
  test("options outside their ranges are refused before any thread starts", () => {
    const base = { instanceId: 0, threads: 1, shardSlots: 3, members: [0, 1, 2], blockSize: 64, lowWater: 16, workerFile };
    expect(() => new IdSource({ ...base, instanceId: 64 })).toThrow("instanceId 64 is outside 0..63");
    expect(() => new IdSource({ ...base, threads: 17 })).toThrow(RangeError);
    expect(() => new IdSource({ ...base, shardSlots: 0 })).toThrow(RangeError);
    expect(() => new IdSource({ ...base, members: [0, 3] })).toThrow("member shard 3 is outside 0..2");
    expect(() => new IdSource({ ...base, lowWater: 0 })).toThrow(RangeError);
  });

  test("1M codes from 2 threads: all unique, each on the ring's shard, ids from this instance's two lanes", async () => {
    const ids = source({ blockSize: 8192, lowWater: 4096 });
    await ids.start();
    const ring = new HashRing(3);
    const seen = new Set<string>();
    const workerIds = new Set<number>();
    let duplicates = 0;
    let wrongShard = 0;
    let wrongId = 0;
    let n = 0;
    await drain(ids, 1_000_000, 3, (t) => {
      if (seen.has(t.code)) duplicates++;
      seen.add(t.code);
      if (t.shard !== ring.shardFor(t.code)) wrongShard++;
      // Decoding costs ~1 µs; a sample is enough to prove id and code belong together.
      if (n++ % 101 === 0 && decodeBase62(t.code) !== t.id) wrongId++;
      workerIds.add(Number((t.id >> 12n) & 1023n));
    });
    expect({ unique: seen.size, duplicates, wrongShard, wrongId }).toEqual({ unique: 1_000_000, duplicates: 0, wrongShard: 0, wrongId: 0 });
    expect([...workerIds].sort((a, b) => a - b)).toEqual([LANE0, LANE0 + 1]);
    expect(ids.failedBlocks).toBe(0);
  }, 120_000);

  test("start() fills every shard to lowWater; at a realistic pace take() never misses", async () => {
    const ids = source();
    await ids.start();
    for (const level of ids.levels()) expect(level).toBeGreaterThanOrEqual(2048);
    let misses = 0;
    // 20k creates at up to ~50k/s, well above one instance's create rate.
    for (let round = 0; round < 400; round++) {
      for (let i = 0; i < 50; i++) if (!ids.takeFor([round % 3, (round + 1) % 3, (round + 2) % 3])) misses++;
      await Bun.sleep(1);
    }
    expect(misses).toBe(0);
  });

  test("takeFor falls through to the next shard when one is empty", async () => {
    const ids = source({ blockSize: 64, lowWater: 16, threads: 1 });
    await ids.start();
    // Drained synchronously: the refill it triggers cannot land before takeFor runs.
    while (ids.levels()[0]! > 0) ids.take(0);
    expect(ids.take(0)).toBeUndefined();
    expect(ids.takeFor([0, 2])?.shard).toBe(2);
    expect(() => ids.take(3)).toThrow(RangeError);
  });

  test("setMembers re-buckets every buffered code to its owner in the new ring; new blocks fill the new shard", async () => {
    const ids = source({ shardSlots: 4, members: [0, 1, 2], blockSize: 256, lowWater: 128, threads: 1 });
    await ids.start();
    expect(ids.levels()[3]).toBe(0);
    ids.setMembers([0, 1, 2, 3]);
    const four = new HashRing(4);
    // Re-bucketed at once, before any new block: shard 3 already holds codes moved from the others.
    expect(ids.levels()[3]!).toBeGreaterThan(0);
    await ids.start();
    const taken: IdTicket[] = [];
    for (const shard of [0, 1, 2, 3]) for (let i = 0; i < 200; i++) taken.push(ids.take(shard) ?? (await ids.takeAsync(shard)));
    expect(taken.filter((t) => four.shardFor(t.code) !== t.shard)).toEqual([]);
    expect(new Set(taken.map((t) => t.code)).size).toBe(taken.length);
    // Drained: shard 1 gets nothing more and no code handed out belongs to it.
    ids.setMembers([0, 2, 3]);
    expect(ids.levels()[1]).toBe(0);
    const drained = new HashRing([0, 2, 3]);
    for (const shard of [0, 2, 3]) for (let i = 0; i < 100; i++) expect(drained.shardFor((ids.take(shard) ?? (await ids.takeAsync(shard))).code)).toBe(shard);
  });

  test("a shard nobody takes from stays within its capacity", async () => {
    const ids = source({ blockSize: 600, lowWater: 100, threads: 1 });
    await ids.start();
    await drain(ids, 20_000, 1, () => {});
    expect(ids.capacity).toBe(1600);
    expect(ids.levels()[1]!).toBeLessThanOrEqual(ids.capacity);
    expect(ids.levels()[2]!).toBeLessThanOrEqual(ids.capacity);
  });

  for (const fault of ["exit", "throw"] as const) {
    test(`a worker thread that dies mid-block (${fault}) is replaced and no id repeats`, async () => {
      const errors: Error[] = [];
      const ids = source({ blockSize: 2048, lowWater: 1024, workerFile: faultyWorkerFile, onError: (e) => errors.push(e) });
      await ids.start();
      const seen = new Set<string>();
      const laneAfterCrash = new Set<number>();
      let duplicates = 0;
      const record = (t: IdTicket) => {
        if (seen.has(t.code)) duplicates++;
        seen.add(t.code);
      };
      injectFault(fault, 0);
      // Drain until the faulted block has failed, then well past it so lane 0 delivers again.
      while (ids.failedBlocks === 0) await drain(ids, 3000, 3, record);
      await drain(ids, 60_000, 3, (t) => {
        record(t);
        laneAfterCrash.add(parseSnowflake(t.id).workerId);
      });
      expect(duplicates).toBe(0);
      expect(ids.failedBlocks).toBe(1);
      expect(errors[0]!.message).toContain(fault === "exit" ? "worker exited with code: 70" : "injected fault");
      expect(laneAfterCrash.has(LANE0)).toBe(true);
    }, 60_000);
  }

  test("a hung block times out: takeAsync says no ticket meanwhile (a 503 for the client), then the lane recovers on a new thread", async () => {
    const ids = source({ blockSize: 256, lowWater: 64, threads: 1, blockTimeoutMs: 500, workerFile: faultyWorkerFile });
    await ids.start();
    injectFault("hang");
    while (ids.levels()[0]! > 0) ids.take(0);
    const error = await ids.takeAsync(0, 100).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NoTicketError);
    expect((error as NoTicketError).shard).toBe(0);
    expect(asServiceError(error)).toMatchObject({ code: "not-ready", status: 503, retryable: true });
    const ticket = await ids.takeAsync(0, 5_000);
    expect(ticket.shard).toBe(0);
    expect(ids.failedBlocks).toBe(1);
  });

  test("a worker file that cannot load fails start() with the reason", async () => {
    const broken = source({ threads: 1, workerFile: "/nonexistent/id-block.worker.ts" });
    await expect(broken.start()).rejects.toThrow("/nonexistent/id-block.worker.ts");
    expect(broken.failedBlocks).toBeGreaterThan(0);
  });

  test("planMoves through the pool agrees with the pure function across chunks", async () => {
    const pool = new Piscina({ filename: workerFile, minThreads: 1, maxThreads: 1 });
    const codes = Array.from({ length: 150_000 }, (_, i) => encodeBase62(BigInt(i) * 7_919n + 1_000_000_007n));
    const viaPool = await planMovesOn(pool, { keys: codes, source: 0, to: [0, 1, 2, 3] }).finally(() => pool.destroy());
    const inline = planMoves({ keys: codes, source: 0, to: [0, 1, 2, 3] });
    expect(viaPool.index.length).toBe(inline.index.length);
    expect(Buffer.from(viaPool.index.buffer).equals(Buffer.from(inline.index.buffer))).toBe(true);
    expect(Buffer.from(viaPool.to.buffer).equals(Buffer.from(inline.to.buffer))).toBe(true);
  });

  test("after close() nothing waits: takeAsync rejects and close is idempotent", async () => {
    const ids = source({ blockSize: 64, lowWater: 16, threads: 1 });
    await ids.start();
    await ids.close();
    while (ids.levels()[0]! > 0) ids.take(0);
    await expect(ids.takeAsync(0)).rejects.toThrow("closed");
    await ids.close();
  });
});
