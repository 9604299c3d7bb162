import { afterAll, describe, expect, test } from "bun:test";
import { fileURLToPath } from "node:url";
import { decodeBase62 } from "../../src/domain/base62";
import { HashRing } from "../../src/domain/ring";
import { parseSnowflake } from "../../src/domain/snowflake";
import { generateBlock, planMoves } from "../../src/ids/id-block";
import { IdSource } from "../../src/ids/id-source";

const workerFile = fileURLToPath(new URL("../../workers/id-block.worker.ts", import.meta.url));
const sources: IdSource[] = [];
function source(options: Partial<ConstructorParameters<typeof IdSource>[0]> = {}): IdSource {
  const s = new IdSource({ instanceId: 5, threads: 2, shardCount: 3, blockSize: 4096, lowWater: 2048, workerFile, ...options });
  sources.push(s);
  return s;
}
afterAll(async () => {
  await Promise.all(sources.map((s) => s.close()));
});

describe("id blocks (pure)", () => {
  test("a block's codes are the Base62 of its ids and sit on the ring's shard", () => {
    const block = generateBlock({ workerId: 9, resumeFrom: null, count: 2000, shardCount: 4 });
    const ring = new HashRing(4);
    block.codes.forEach((code, i) => {
      expect(decodeBase62(code)).toBe(BigInt(block.ids[i]!));
      expect(block.shards[i]).toBe(ring.shardFor(code));
    });
  });

  test("a block resumed from the previous block's state continues without repeats", () => {
    const a = generateBlock({ workerId: 9, resumeFrom: null, count: 5000, shardCount: 3 });
    const b = generateBlock({ workerId: 9, resumeFrom: a.state, count: 5000, shardCount: 3 });
    expect(new Set([...a.codes, ...b.codes]).size).toBe(10_000);
  });

  test("planMoves lists exactly the codes whose shard changes", () => {
    const codes = generateBlock({ workerId: 1, resumeFrom: null, count: 3000, shardCount: 3 }).codes;
    const moves = planMoves({ codes, fromShards: 3, toShards: 4 });
    const three = new HashRing(3);
    const four = new HashRing(4);
    expect(moves.length).toBe(codes.filter((c) => three.shardFor(c) !== four.shardFor(c)).length);
    for (const m of moves) expect(m.to).toBe(3);
  });
});

describe("IdSource over piscina", () => {
  test("1M codes from 2 threads: all unique, each on the ring's shard, ids from this instance's lanes", async () => {
    const ids = source({ blockSize: 8192, lowWater: 4096 });
    await ids.start();
    const ring = new HashRing(3);
    const seen = new Set<string>();
    const workerIds = new Set<number>();
    let misses = 0;
    while (seen.size < 1_000_000) {
      for (let shard = 0; shard < 3; shard++) {
        const ticket = ids.take(shard);
        if (!ticket) {
          misses++;
          continue;
        }
        expect(seen.has(ticket.code)).toBe(false);
        seen.add(ticket.code);
        if (seen.size % 997 === 0) {
          expect(ticket.shard).toBe(ring.shardFor(ticket.code));
          workerIds.add(parseSnowflake(ticket.id).workerId);
        }
      }
      if (misses > 0) await ids.takeAsync(0).then((t) => seen.add(t.code));
      misses = 0;
    }
    expect(seen.size).toBeGreaterThanOrEqual(1_000_000);
    expect([...workerIds].sort()).toEqual([5 * 16, 5 * 16 + 1]);
  }, 120_000);

  test("at a realistic pace the buffer never makes a caller wait", async () => {
    const ids = source();
    await ids.start();
    let misses = 0;
    // 20k creates at up to ~40k/s, far above one instance's create rate.
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
    expect(ids.takeFor([0, 2])?.shard).toBe(2);
  });

  test("a shard nobody takes from does not grow without bound", async () => {
    const ids = source({ blockSize: 600, lowWater: 100, threads: 1 });
    await ids.start();
    for (let i = 0; i < 20_000; i++) if (!ids.take(1)) await ids.takeAsync(1);
    const cap = Math.max(200, Math.ceil((600 * 8) / 3));
    expect(ids.levels()[0]!).toBeLessThanOrEqual(cap);
  });

  test("blocks that keep failing in the worker stop start-up with a clear error", async () => {
    // Instance 64 gives worker id 1024, which the Snowflake generator in the worker refuses.
    const broken = source({ instanceId: 64, threads: 1 });
    await expect(broken.start()).rejects.toThrow("blocks failed in the worker pool");
    expect(broken.failedBlocks).toBeGreaterThan(0);
  });
});
