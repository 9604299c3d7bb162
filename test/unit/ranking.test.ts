import { expect, test } from "bun:test";
import fc from "fast-check";
import { keepTop, sumCounts, topCounts } from "../../src/domain/ranking";

test("top counts: highest first, ties by name, at most n; keepTop keeps exactly those; sums add by name", () => {
  expect(topCounts(new Map([["b", 2], ["a", 2], ["c", 5]]), 2)).toEqual([["c", 5], ["a", 2]]);
  fc.assert(
    fc.property(fc.dictionary(fc.string({ maxLength: 4 }), fc.nat(20)), fc.nat(10), (dict, n) => {
      const counts = new Map(Object.entries(dict));
      const top = topCounts(counts, n);
      expect(top.length).toBe(Math.min(n, counts.size));
      for (let i = 1; i < top.length; i++) expect(top[i - 1]![1] > top[i]![1] || (top[i - 1]![1] === top[i]![1] && top[i - 1]![0] < top[i]![0])).toBe(true);
      keepTop(counts, n);
      expect([...counts]).toEqual(top);
      expect([...sumCounts([top, top])]).toEqual(top.map(([k, v]) => [k, v * 2]));
    }),
    { numRuns: 300 },
  );
});
