import { afterAll, beforeAll, expect, test } from "bun:test";
import { gcraParams } from "../../src/domain/gcra";
import { MemoryAdmission } from "../../src/modules/ratelimit/memory-admission";
import { startSystem, type TestSystem } from "../../harness/system";

let sys: TestSystem;
beforeAll(async () => {
  // A generous Redis timeout: this asserts what sync() sends, not how fast a loaded CI host answers.
  sys = await startSystem({ REDIS_TIMEOUT_MS: "2000" });
});
afterAll(() => sys.close());

test("sync() carries everything admitted before it, even spending that came after an exchange in flight took its snapshot", async () => {
  // Six a minute: a token spent keeps its shared bucket (the key) for ten seconds, well past the
  // reads below on a loaded host (at 600 a minute the key lived 100 ms, and once expired between them).
  const admission = new MemoryAdmission({ bucket: "redirect", shards: sys.composed.shards, shardFor: () => 0, params: gcraParams({ perMinute: 6 }), whenRedisDown: "memory", syncMs: 60_000 });
  const [early, late] = [`sync-early-${crypto.randomUUID()}`, `sync-late-${crypto.randomUUID()}`];
  expect(admission.admit(early, 1).allowed).toBe(true);
  const first = admission.sync();
  // One microtask on, the first exchange has taken its snapshot (early only) and waits on Redis:
  // late is spent while it is in flight.
  await Promise.resolve();
  expect(admission.admit(late, 1).allowed).toBe(true);
  await admission.sync();
  await first;
  const redis = sys.composed.shards.at(0).redis.client;
  expect(Number(await redis.pttl(`rl:redirect:${early}`))).toBeGreaterThan(0);
  expect(Number(await redis.pttl(`rl:redirect:${late}`))).toBeGreaterThan(0);
});
