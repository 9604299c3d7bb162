import { describe, expect, test } from "bun:test";
import { advance, beginMigration, stableState } from "../../src/domain/topology";
import { RingRouter } from "../../src/topology/ring-router";

describe("RingRouter", () => {
  test("a write keeps the ring it began with; drained() waits for writes of older versions only", async () => {
    const v1 = stableState([0, 1, 2]);
    const router = new RingRouter(v1);
    const old = router.beginWrite();
    const v2 = beginMigration(v1, "add", [0, 1, 2, 3], "m");
    const v3 = advance(v2);
    router.set(v2);
    router.set(v3);
    const fresh = router.beginWrite();
    expect(old.version).toBe(1);
    expect(fresh.write.members).toEqual([0, 1, 2, 3]);
    expect(router.writesBefore(3)).toBe(1);

    let drained: boolean | null = null;
    const waiting = router.drained(3, 5_000).then((ok) => (drained = ok));
    await Bun.sleep(10);
    router.endWrite(fresh);
    await Bun.sleep(10);
    expect(drained).toBeNull();
    router.endWrite(old);
    expect(await waiting).toBe(true);
    expect(router.writesBefore(99)).toBe(0);
  });

  test("drained() gives up after its timeout; an older or equal version is ignored", async () => {
    const router = new RingRouter(stableState([0]));
    router.beginWrite();
    router.set(beginMigration(stableState([0]), "add", [0, 1], "m"));
    expect(await router.drained(2, 20)).toBe(false);
    router.set(stableState([5], 1));
    expect(router.topology.version).toBe(2);
  });

  test("tells the ID source only when the write ring's members change", () => {
    const seen: string[] = [];
    const v1 = stableState([0, 1]);
    const router = new RingRouter(v1);
    router.onWriteMembers = (m) => seen.push(m.join(","));
    const prepare = beginMigration(v1, "add", [0, 1, 2], "m");
    router.set(prepare);
    const dual = advance(prepare);
    router.set(dual);
    router.set(advance(dual));
    expect(seen).toEqual(["0,1,2"]);
  });
});
