import { expect, test } from "bun:test";
import { LoopDelaySampler } from "../../src/observability/loop-delay";

test("a loop blocked for 60 ms shows as a sample of at least that much; the others are the timer's own lateness", async () => {
  const samples: number[] = [];
  const sampler = new LoopDelaySampler({ intervalMs: 10, observe: (s) => samples.push(s) });
  sampler.start();
  await Bun.sleep(50);
  const busyUntil = performance.now() + 60;
  while (performance.now() < busyUntil) {
    // the loop is blocked: no timer can run
  }
  await Bun.sleep(50);
  sampler.stop();
  const count = samples.length;
  await Bun.sleep(30);
  expect(samples.length).toBe(count);
  expect(Math.max(...samples)).toBeGreaterThanOrEqual(0.05);
  expect(samples.filter((s) => s >= 0.05)).toHaveLength(1);
  expect(samples.every((s) => s >= 0)).toBe(true);
});
