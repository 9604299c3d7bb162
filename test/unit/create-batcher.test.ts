import { describe, expect, test } from "bun:test";
import { CreateBatcher } from "../../src/modules/links/create-batcher";

/** A fake statement: records each call's batch and answers after `ms`. */
function recorder(ms: number, fail?: (items: string[]) => Error | null) {
  const calls: Array<{ shard: number; items: string[] }> = [];
  const write = async (shard: number, items: string[]) => {
    calls.push({ shard, items: [...items] });
    await Bun.sleep(ms);
    const error = fail?.(items);
    if (error) throw error;
    return items.map((i) => `${i}!`);
  };
  return { calls, write };
}

describe("CreateBatcher (group commit)", () => {
  test("an idle shard writes at once; what arrives meanwhile goes together in the next statement", async () => {
    const { calls, write } = recorder(20);
    const batcher = new CreateBatcher(write, () => false);
    const first = batcher.submit(0, "a");
    await Bun.sleep(1);
    const rest = ["b", "c", "d"].map((i) => batcher.submit(0, i));
    expect(await Promise.all([first, ...rest])).toEqual(["a!", "b!", "c!", "d!"]);
    expect(calls.map((c) => c.items)).toEqual([["a"], ["b", "c", "d"]]);
    expect(batcher.figures).toEqual({ statements: 2, items: 4 });
  });

  test("shards batch independently; maxBatch caps a statement", async () => {
    const { calls, write } = recorder(5);
    const batcher = new CreateBatcher(write, () => false, 2);
    await Promise.all([batcher.submit(0, "a"), batcher.submit(1, "x"), batcher.submit(0, "b"), batcher.submit(0, "c"), batcher.submit(0, "d")]);
    expect(calls.filter((c) => c.shard === 1).map((c) => c.items)).toEqual([["x"]]);
    expect(calls.filter((c) => c.shard === 0).map((c) => c.items)).toEqual([["a"], ["b", "c"], ["d"]]);
  });

  test("a per-item failure in a batch is retried item by item: only the bad item fails", async () => {
    const clash = Object.assign(new Error("duplicate key"), { perItem: true });
    const { calls, write } = recorder(2, (items) => (items.includes("bad") ? clash : null));
    const batcher = new CreateBatcher(write, (e) => (e as { perItem?: boolean }).perItem === true);
    const first = batcher.submit(0, "warm");
    const results = await Promise.allSettled(["ok1", "bad", "ok2"].map((i) => batcher.submit(0, i)));
    await first;
    expect(results.map((r) => (r.status === "fulfilled" ? r.value : (r.reason as Error).message))).toEqual(["ok1!", "duplicate key", "ok2!"]);
    expect(calls.map((c) => c.items)).toEqual([["warm"], ["ok1", "bad", "ok2"], ["ok1"], ["bad"], ["ok2"]]);
  });

  test("any other failure fails the whole batch and the next batch still runs", async () => {
    let down = true;
    const batcher = new CreateBatcher(async (_shard: number, items: string[]) => {
      await Bun.sleep(2);
      if (down) throw new Error("primary down");
      return items;
    }, () => false);
    const failed = await Promise.allSettled([batcher.submit(0, "a"), batcher.submit(0, "b")]);
    expect(failed.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    down = false;
    expect(await batcher.submit(0, "c")).toBe("c");
  });
});
