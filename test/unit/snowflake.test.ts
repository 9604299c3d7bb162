import { describe, expect, test } from "bun:test";
import { ClockMovedBackwardsError, EPOCH_MS, MAX_WORKER_ID, Snowflake, parseSnowflake } from "../../src/domain/snowflake";

function fakeClock(start: number) {
  let t = start;
  return { now: () => t, set: (v: number) => (t = v), tick: (d = 1) => (t += d) };
}

describe("Snowflake", () => {
  test("200k ids in a tight loop are strictly increasing and unique (fake clock)", () => {
    // A clock that moves 1 ms every 1000 reads: far more ids per ms than a real one allows, so
    // the sequence is spent and waited out dozens of times.
    let reads = 0;
    const gen = new Snowflake({ workerId: 7, now: () => EPOCH_MS + 50_000 + Math.floor(reads++ / 1000) });
    let last = -1n;
    let notIncreasing = 0;
    const seen = new Set<bigint>();
    for (let i = 0; i < 200_000; i++) {
      const id = gen.next();
      if (id <= last) notIncreasing++;
      last = id;
      seen.add(id);
    }
    expect(notIncreasing).toBe(0);
    expect(seen.size).toBe(200_000);
    expect(parseSnowflake(last).workerId).toBe(7);
  });

  test("200k ids on the real clock are strictly increasing", () => {
    const gen = new Snowflake({ workerId: 7, now: Date.now });
    let last = -1n;
    let notIncreasing = 0;
    for (let i = 0; i < 200_000; i++) {
      const id = gen.next();
      if (id <= last) notIncreasing++;
      last = id;
    }
    expect(notIncreasing).toBe(0);
  });

  test("the parts come back out: time, worker id, sequence", () => {
    const clock = fakeClock(EPOCH_MS + 123_456);
    const gen = new Snowflake({ workerId: 513, now: clock.now });
    gen.next();
    expect(parseSnowflake(gen.next())).toEqual({ timestampMs: EPOCH_MS + 123_456, workerId: 513, sequence: 1 });
  });

  test.each([
    [0, 0, 0],
    [MAX_WORKER_ID, 4095, 2 ** 41 - 1],
    [80, 17, 1_000_000_000],
  ])("parseSnowflake round trip: worker %p, sequence %p, ms %p", (workerId, sequence, ms) => {
    const clock = fakeClock(EPOCH_MS + ms);
    const gen = new Snowflake({ workerId, now: clock.now, resumeFrom: sequence === 0 ? undefined : { lastMs: ms, sequence: sequence - 1 } });
    const id = gen.next();
    expect(id < 1n << 63n).toBe(true);
    expect(parseSnowflake(id)).toEqual({ timestampMs: EPOCH_MS + ms, workerId, sequence });
  });

  test("when the sequence of a millisecond is spent it waits for the next millisecond", () => {
    let calls = 0;
    const base = EPOCH_MS + 1000;
    // The clock advances only after many reads, like a real clock under a tight loop.
    const gen = new Snowflake({ workerId: 1, now: () => base + Math.floor(calls++ / 10_000) });
    const ids = Array.from({ length: 4097 }, () => gen.next());
    const parts = ids.map(parseSnowflake);
    expect(parts[4095]!.sequence).toBe(4095);
    expect(parts[4096]!.timestampMs).toBeGreaterThan(parts[4095]!.timestampMs);
    expect(parts[4096]!.sequence).toBe(0);
    expect(new Set(ids).size).toBe(4097);
  });

  test("a small backwards step is waited out", () => {
    const clock = fakeClock(EPOCH_MS + 10_000);
    let reads = 0;
    const gen = new Snowflake({ workerId: 1, now: () => (reads++ > 3 ? EPOCH_MS + 10_001 : clock.now()) });
    const a = gen.next();
    clock.set(EPOCH_MS + 9_998);
    const b = gen.next();
    expect(b > a).toBe(true);
  });

  test("maxBackwardsWaitMs is the line between waiting and throwing", () => {
    for (const [step, waits] of [[20, true], [21, false]] as const) {
      let t = EPOCH_MS + 10_000;
      const gen = new Snowflake({ workerId: 1, now: () => t++, maxBackwardsWaitMs: 20 }); // 1 ms per read
      const first = gen.next();
      t = EPOCH_MS + 10_000 - step;
      if (waits) expect(gen.next() > first).toBe(true);
      else expect(() => gen.next()).toThrow(`clock moved backwards by ${step} ms`);
    }
  });

  test("a large backwards jump throws a clear error", () => {
    const clock = fakeClock(EPOCH_MS + 10_000);
    const gen = new Snowflake({ workerId: 1, now: clock.now });
    gen.next();
    clock.set(EPOCH_MS + 9_000);
    expect(() => gen.next()).toThrow(ClockMovedBackwardsError);
    expect(() => gen.next()).toThrow("clock moved backwards by 1000 ms");
  });

  test("worker ids outside 0..1023 are refused", () => {
    expect(() => new Snowflake({ workerId: -1, now: Date.now })).toThrow(RangeError);
    expect(() => new Snowflake({ workerId: MAX_WORKER_ID + 1, now: Date.now })).toThrow(RangeError);
    expect(() => new Snowflake({ workerId: 1.5, now: Date.now })).toThrow(RangeError);
  });

  test("resuming from state() never repeats an id, even within the same millisecond", () => {
    const clock = fakeClock(EPOCH_MS + 5_000);
    const first = new Snowflake({ workerId: 2, now: clock.now });
    const before = [first.next(), first.next(), first.next()];
    const second = new Snowflake({ workerId: 2, now: clock.now, resumeFrom: first.state() });
    const after = [second.next(), second.next()];
    expect(new Set([...before, ...after]).size).toBe(5);
    expect(after[0]! > before[2]!).toBe(true);
  });

  test("resuming at a spent sequence waits for the next millisecond", () => {
    let reads = 0;
    const gen = new Snowflake({ workerId: 2, now: () => EPOCH_MS + 7_000 + (reads++ > 5 ? 1 : 0), resumeFrom: { lastMs: 7_000, sequence: 4095 } });
    expect(parseSnowflake(gen.next())).toEqual({ timestampMs: EPOCH_MS + 7_001, workerId: 2, sequence: 0 });
  });

  test("a mangled resume state is refused rather than trusted", () => {
    for (const resumeFrom of [{ lastMs: 1.5, sequence: 0 }, { lastMs: -2, sequence: 0 }, { lastMs: 5, sequence: 4096 }, { lastMs: 5, sequence: -1 }, { lastMs: Number.NaN, sequence: 0 }]) {
      expect(() => new Snowflake({ workerId: 1, now: Date.now, resumeFrom })).toThrow(RangeError);
    }
  });

  test("a refused out-of-range timestamp leaves the state intact, so no id repeats later", () => {
    const clock = fakeClock(EPOCH_MS + 5_000);
    const gen = new Snowflake({ workerId: 2, now: clock.now });
    const before = [gen.next(), gen.next(), gen.next()];
    clock.set(EPOCH_MS + 2 ** 41); // past the 41-bit range
    expect(() => gen.next()).toThrow(RangeError);
    clock.set(EPOCH_MS + 5_000);
    expect(before.includes(gen.next())).toBe(false);
  });
});
