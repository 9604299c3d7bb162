import { describe, expect, test } from "bun:test";
import { HashRing } from "../../src/domain/ring";
import { encodeBase62 } from "../../src/domain/base62";

function randomCodes(n: number): string[] {
  return Array.from({ length: n }, () => encodeBase62(BigInt.asUintN(63, BigInt(Math.floor(Math.random() * 2 ** 52)) << 11n) | BigInt(Math.floor(Math.random() * 2048))));
}

describe("HashRing", () => {
  const codes = randomCodes(100_000);

  test("deterministic: two rings built apart agree on every key", () => {
    const a = new HashRing(3);
    const b = new HashRing(3);
    for (const code of codes.slice(0, 5000)) expect(a.shardFor(code)).toBe(b.shardFor(code));
  });

  test("stable across versions: pinned placements (a change here re-homes every stored code)", () => {
    const three = new HashRing(3);
    const five = new HashRing(5);
    const pinned: Array<[string, number, number]> = [["0", 1, 1], ["z", 2, 4], ["8sHulm2g6M", 0, 0], ["LygHa16AHYF", 1, 1], ["abc123", 2, 4]];
    for (const [code, in3, in5] of pinned) expect([code, three.shardFor(code), five.shardFor(code)]).toEqual([code, in3, in5]);
  });

  test("balanced: with 3 shards and 100k codes no shard gets more than 1.1x its fair share", () => {
    const ring = new HashRing(3);
    const counts = [0, 0, 0];
    for (const code of codes) counts[ring.shardFor(code)]!++;
    for (const c of counts) expect(c / (codes.length / 3)).toBeLessThan(1.1);
  });

  test("adding a 4th shard moves close to 1/4 of keys, all to the new shard", () => {
    const three = new HashRing(3);
    const four = new HashRing(4);
    let moved = 0;
    for (const code of codes) {
      const before = three.shardFor(code);
      const after = four.shardFor(code);
      if (before !== after) {
        moved++;
        expect(after).toBe(3);
      }
    }
    expect(moved / codes.length).toBeGreaterThan(0.2);
    expect(moved / codes.length).toBeLessThan(0.3);
  });

  test("one shard takes every key", () => {
    const ring = new HashRing(1);
    expect(codes.slice(0, 1000).every((c) => ring.shardFor(c) === 0)).toBe(true);
  });

  test("invalid arguments are refused", () => {
    expect(() => new HashRing(0)).toThrow(RangeError);
    expect(() => new HashRing(2.5)).toThrow(RangeError);
    expect(() => new HashRing(-1)).toThrow(RangeError);
    expect(() => new HashRing(Number.NaN)).toThrow(RangeError);
    expect(() => new HashRing([])).toThrow(RangeError);
    expect(() => new HashRing([0, -1])).toThrow(RangeError);
    expect(() => new HashRing(3, 0)).toThrow(RangeError);
    expect(() => new HashRing(3, 1.5)).toThrow(RangeError);
  });

  test("a member list is the same ring as a count over the same shards", () => {
    const byCount = new HashRing(3);
    const byList = new HashRing([2, 0, 1, 1]);
    expect(byList.members).toEqual([0, 1, 2]);
    for (const code of codes.slice(0, 5000)) expect(byList.shardFor(code)).toBe(byCount.shardFor(code));
  });

  test("removing a member hands only its keys to the others, and never places a key on it", () => {
    const four = new HashRing(4);
    const drained = new HashRing([0, 2, 3]);
    let moved = 0;
    for (const code of codes) {
      const before = four.shardFor(code);
      const after = drained.shardFor(code);
      expect(after).not.toBe(1);
      if (before !== 1) expect(after).toBe(before);
      else moved++;
    }
    expect(moved / codes.length).toBeGreaterThan(0.2);
    expect(moved / codes.length).toBeLessThan(0.3);
  });
});
