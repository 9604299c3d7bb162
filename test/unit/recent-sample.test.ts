import { expect, test } from "bun:test";
import fc from "fast-check";
import { RecentSample } from "../../src/events/recent-sample";

test("a sample keeps the last `size` items in order and counts every one offered", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 20 }), fc.array(fc.array(fc.integer(), { maxLength: 60 }), { maxLength: 5 }), (size, rounds) => {
      const sample = new RecentSample<number>(size);
      for (const round of rounds) {
        for (const item of round) sample.offer(item);
        expect(sample.take()).toEqual({ items: round.slice(-size), seen: round.length });
      }
    }),
  );
});

test("a sample size that is not a positive integer is refused", () => {
  expect(() => new RecentSample(0)).toThrow(RangeError);
  expect(() => new RecentSample(1.5)).toThrow(RangeError);
});
