import { expect, test } from "bun:test";
import fc from "fast-check";
import { FIELDS, type PackedFacts } from "../../src/modules/analytics/click-log";
import { DISTINCT_FIELDS, distinctClicks } from "../../src/modules/analytics/distinct-clicks";

/** Facts as the log packs them, from generated ids (few values, so clicks repeat). */
const packed = fc.array(fc.tuple(fc.array(fc.integer({ min: -1, max: 3 }), { minLength: FIELDS, maxLength: FIELDS }), fc.integer({ min: 0, max: 3 })), { maxLength: 300 }).map(
  (clicks): PackedFacts => ({ count: clicks.length, values: [], ids: Int32Array.from(clicks.flatMap(([ids]) => ids)), flags: Uint8Array.from(clicks.map(([, flags]) => flags)) }),
);

/** A click's facts as the rollups read them (the owner, field 1, left out), as one string. */
const keyOfClick = (p: PackedFacts, i: number) => [0, 2, 3, 4, 5, 6].map((f) => p.ids[i * FIELDS + f]).concat(p.flags[i]!).join(",");

test("property: every click is counted once, under the distinct click with its facts; no two distinct clicks are alike; first-seen order", () => {
  fc.assert(
    fc.property(packed, (p) => {
      const { size, fields, weights } = distinctClicks(p);
      const keys = Array.from({ length: size }, (_, d) => Array.from(fields.subarray(d * DISTINCT_FIELDS, (d + 1) * DISTINCT_FIELDS)).join(","));
      const expected = new Map<string, number>();
      for (let i = 0; i < p.count; i++) expected.set(keyOfClick(p, i), (expected.get(keyOfClick(p, i)) ?? 0) + 1);
      expect(new Set(keys).size).toBe(size);
      expect(keys.map((k, d) => [k, weights[d]])).toEqual([...expected]);
    }),
    { numRuns: 500 },
  );
});

test("a flush of one repeated click is one distinct click weighing all of them", () => {
  const ids = new Int32Array(FIELDS * 5000);
  for (let i = 0; i < 5000; i++) ids.set([7, 1, 2, -1, 3, 4, 5], i * FIELDS);
  const { size, fields, weights } = distinctClicks({ count: 5000, values: [], ids, flags: new Uint8Array(5000) });
  expect([size, Array.from(fields.subarray(0, DISTINCT_FIELDS)), weights[0]]).toEqual([1, [7, 2, -1, 3, 4, 5, 0], 5000]);
});
