import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { gcraParams, gcraStep, gcraTake } from "../../src/domain/gcra";

describe("GCRA", () => {
  const params = gcraParams({ perMinute: 60, burst: 5 }); // 1 token/s, burst 5

  test("allows a burst, then refuses with the time until the next token", () => {
    let tat: number | undefined;
    const now = 1_000_000;
    for (let i = 0; i < 5; i++) {
      const r = gcraStep(tat, now, params, 1);
      expect(r.allowed).toBe(true);
      expect(r.remaining).toBe(4 - i);
      tat = r.tat;
    }
    const refused = gcraStep(tat, now, params, 1);
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterMs).toBe(1000);
    expect(refused.tat).toBe(tat!);
  });

  test("refills smoothly: one token per emission interval, no window edge", () => {
    let tat: number | undefined;
    let now = 0;
    for (let i = 0; i < 5; i++) tat = gcraStep(tat, now, params, 1).tat;
    now += 999;
    expect(gcraStep(tat, now, params, 1).allowed).toBe(false);
    now += 1;
    const r = gcraStep(tat, now, params, 1);
    expect(r.allowed).toBe(true);
    expect(gcraStep(r.tat, now, params, 1).allowed).toBe(false);
  });

  test("a higher cost spends more of the bucket", () => {
    const r = gcraStep(undefined, 0, params, 4);
    expect(r.allowed).toBe(true);
    expect(r.remaining).toBe(1);
    expect(gcraStep(r.tat, 0, params, 2).allowed).toBe(false);
  });

  test("an idle client's bucket is full again after burst intervals", () => {
    let tat: number | undefined;
    for (let i = 0; i < 5; i++) tat = gcraStep(tat, 0, params, 1).tat;
    expect(gcraStep(tat, 5000, params, 1).remaining).toBe(4);
  });
});

describe("GCRA take (a batch's reservation in one step)", () => {
  const params = gcraParams({ perMinute: 60, burst: 5 });

  test("grants what the bucket holds, not more, and leaves the rest uncharged", () => {
    const r = gcraTake(undefined, 0, params, 8);
    expect([r.granted, r.remaining, r.retryAfterMs]).toEqual([5, 0, 1000]);
    const again = gcraTake(r.tat, 0, params, 3);
    expect([again.granted, again.tat]).toEqual([0, r.tat]);
    expect(gcraTake(r.tat, 2000, params, 3).granted).toBe(2);
  });

  test("the rounding of large, fractional TATs costs no token", () => {
    const odd = gcraParams({ perMinute: 33, burst: 3 }); // 1818.18… ms a token
    const now = 1_700_000_000_000;
    const first = gcraTake(undefined, now, odd, 2);
    expect([first.granted, first.remaining]).toEqual([2, 1]);
    expect(gcraTake(first.tat, now, odd, 5).granted).toBe(1);
  });

  // Whole-millisecond emissions keep the arithmetic exact, so the two must agree token for token.
  test("property: taking n at once is taking one token n times, until the first refusal", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(1, 2, 3, 4, 5, 6, 10, 12, 20, 30, 60, 100, 120, 600, 1000, 1200, 6000, 60_000),
        fc.integer({ min: 1, max: 50 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 0, max: 60 })), { minLength: 1, maxLength: 20 }),
        (perMinute, burst, steps) => {
          const p = gcraParams({ perMinute, burst });
          let now = 1_700_000_000_000;
          let batched: number | undefined;
          let single: number | undefined;
          for (const [wait, wanted] of steps) {
            now += wait;
            const took = gcraTake(batched, now, p, wanted);
            let allowed = 0;
            let last: ReturnType<typeof gcraStep> | undefined;
            for (let i = 0; i < wanted; i++) {
              last = gcraStep(single, now, p, 1);
              if (!last.allowed) break;
              single = last.tat;
              allowed++;
            }
            expect(took.granted).toBe(allowed);
            expect(took.granted).toBeLessThanOrEqual(wanted);
            if (allowed > 0) expect(took.tat).toBeCloseTo(single!, 6);
            if (last) expect(took.remaining).toBe(last.remaining);
            if (last && !last.allowed) expect(took.retryAfterMs).toBe(last.retryAfterMs);
            if (took.granted > 0) batched = took.tat;
          }
        },
      ),
    );
  });
});
