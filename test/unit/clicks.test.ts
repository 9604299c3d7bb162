import { describe, expect, test } from "bun:test";
import { ClickCounter } from "../../src/modules/clicks/click-counter";
import { HotLinks } from "../../src/modules/links/hot-links";

describe("ClickCounter", () => {
  test("drain hands over the counts and starts from empty; counted keeps the running total", () => {
    const c = new ClickCounter();
    for (const code of ["a", "b", "a", "a"]) c.record(code);
    expect(c.drain()).toEqual(new Map([["a", 3], ["b", 1]]));
    expect(c.drain().size).toBe(0);
    c.record("b");
    expect(c.counted).toBe(5);
  });

  test("clicks per second over the time between ticks; top links by recent clicks, fading as they age", () => {
    const c = new ClickCounter({ topSize: 2, maxRecent: 100 });
    c.tick(1000);
    for (let i = 0; i < 30; i++) c.record("hot");
    for (let i = 0; i < 10; i++) c.record("warm");
    c.record("cold");
    c.drain();
    c.tick(3000);
    expect(c.perSecond).toBe(20.5);
    expect(c.top()).toEqual([{ code: "hot", clicks: 15 }, { code: "warm", clicks: 5 }]);
    for (let i = 0; i < 8; i++) c.tick(4000 + i);
    expect(c.top()).toEqual([]);
  });
});

describe("HotLinks", () => {
  const link = (longUrl: string) => ({ longUrl, expiresAt: null, maxVisits: null, owner: null });

  test("bounded by entries (least recently used goes first) and by age", async () => {
    const hot = new HotLinks({ maxEntries: 2, ttlMs: 60 });
    hot.set("a", link("https://a/"), hot.generation);
    hot.set("b", link("https://b/"), hot.generation);
    hot.get("a");
    hot.set("c", link("https://c/"), hot.generation);
    expect([hot.get("a")?.longUrl, hot.get("b"), hot.get("c")?.longUrl]).toEqual(["https://a/", undefined, "https://c/"]);
    await Bun.sleep(150);
    expect(hot.get("a")).toBeUndefined();
  });

  test("drop and clear forget entries; size 0 or TTL 0 turns the cache off", () => {
    const hot = new HotLinks({ maxEntries: 10, ttlMs: 10_000 });
    hot.set("a", link("x"), hot.generation);
    hot.set("b", link("y"), hot.generation);
    hot.drop(["a"]);
    expect([hot.get("a"), hot.get("b")?.longUrl, hot.size]).toEqual([undefined, "y", 1]);
    hot.clear();
    expect(hot.size).toBe(0);
    for (const off of [new HotLinks({ maxEntries: 0, ttlMs: 1000 }), new HotLinks({ maxEntries: 10, ttlMs: 0 })]) {
      off.set("a", link("x"), off.generation);
      expect(off.get("a")).toBeUndefined();
    }
  });

  test("a value read across an invalidation is not cached (a read that raced an edit cannot bring the old target back)", () => {
    const hot = new HotLinks({ maxEntries: 10, ttlMs: 10_000 });
    const before = hot.generation;
    hot.drop(["a"]);
    hot.set("a", link("https://old/"), before);
    expect(hot.get("a")).toBeUndefined();
    hot.set("a", link("https://new/"), hot.generation);
    expect(hot.get("a")?.longUrl).toBe("https://new/");
  });
});
