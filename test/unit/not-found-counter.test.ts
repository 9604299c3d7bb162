import { expect, test } from "bun:test";
import fc from "fast-check";
import { NotFoundCounter } from "../../src/modules/clicks/not-found-counter";

test("counts every 404, ranks the paths asked for most, and keeps no more than its bound whatever is probed", () => {
  fc.assert(
    fc.property(fc.array(fc.string({ maxLength: 100 }), { maxLength: 400 }), (paths) => {
      const counter = new NotFoundCounter(20);
      for (const p of paths) counter.record(p);
      const { total, top } = counter.figures(1000);
      expect(total).toBe(paths.length);
      expect(top.length).toBeLessThanOrEqual(20);
      for (const t of top) expect(t.path.length).toBeLessThanOrEqual(64);
      for (let i = 1; i < top.length; i++) expect(top[i - 1]!.requests).toBeGreaterThanOrEqual(top[i]!.requests);
    }),
    { numRuns: 200 },
  );
  const counter = new NotFoundCounter(20);
  for (let i = 0; i < 5; i++) counter.record("probe-a");
  for (let i = 0; i < 100; i++) counter.record(`noise-${i}`);
  expect(counter.figures(1)).toEqual({ total: 105, top: [{ path: "probe-a", requests: 5 }] });
});
