import { afterAll, describe, expect, test } from "bun:test";
import { applyClickBatch, clickRows } from "../../src/storage/click-rows";
import { ShardSet } from "../../src/storage/shard-set";
import { freshCode } from "../../harness/cluster";
import { clusterConfig } from "../../harness/system";

/** The click flush statement against a real primary: a batch counts once, however often it is sent. */
const config = clusterConfig();
const policy = { timeoutMs: 2000, retries: 0, breakAfter: 5, halfOpenAfterMs: 500 };
const shards = ShardSet.connect(config.shards, { redisPolicy: policy, dbPolicy: policy, dbPoolSize: 2 });
const primary = shards.at(1).primary;
afterAll(() => shards.close());

describe("applyClickBatch", () => {
  test("a retried batch (same id) adds nothing; a new batch adds to the same hour's row", async () => {
    const code = freshCode("k");
    const hour = new Date(Date.UTC(2026, 10, 30, 5));
    const batch = { id: `test:${crypto.randomUUID()}:0`, instance: "instance-t", home: 1, epoch: 3, hour, counts: new Map([[code, 4]]) };
    expect(await applyClickBatch(primary, batch)).toBe(true);
    expect(await applyClickBatch(primary, batch)).toBe(false);
    expect(await applyClickBatch(primary, { ...batch, id: `${batch.id}-next`, counts: new Map([[code, 3]]) })).toBe(true);
    const rows = await clickRows(primary, code);
    expect(rows.map((r) => [r.hour.toISOString(), r.instance, r.home, r.epoch, r.clicks])).toEqual([[hour.toISOString(), "instance-t", 1, 3, 7]]);
  });
});
