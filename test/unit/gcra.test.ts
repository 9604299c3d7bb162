import { describe, expect, test } from "bun:test";
import { gcraParams, gcraStep } from "../../src/domain/gcra";

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
