import { describe, expect, test } from "bun:test";
import { ClickCounter } from "../../src/modules/clicks/click-counter";
import fc from "fast-check";
import { entryBytes, HotLinks } from "../../src/modules/links/hot-links";

describe("ClickCounter", () => {
  test("drain hands over the counts and starts from empty; counted keeps the running total", () => {
    const c = new ClickCounter();
    for (const code of ["a", "b", "a", "a"]) c.record(code);
    expect(c.drain()).toEqual(new Map([["a", 3], ["b", 1]]));
    expect(c.drain().size).toBe(0);
    c.record("b");
    expect(c.counted).toBe(5);
  });

  test("clicks the click log holds are counted at once, and join the same counts when it hands them over", () => {
    let logged = 6;
    const c = new ClickCounter({ logged: () => logged });
    c.record("a");
    expect(c.counted).toBe(7);
    logged = 0;
    c.add("a", 4);
    c.add("b", 2);
    expect(c.drain()).toEqual(new Map([["a", 5], ["b", 2]]));
    expect(c.counted).toBe(7);
  });

  test("property: past maxRecent the top list keeps exactly the most clicked (ties cut to size), and what it reports is the true top", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 }), fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 120 }), (maxRecent, clicks) => {
        const c = new ClickCounter({ topSize: 5, maxRecent });
        c.tick(1);
        clicks.forEach((n, i) => {
          for (let k = 0; k < n; k++) c.record(`c${i}`);
        });
        c.drain();
        c.tick(2);
        const top = c.top(1000);
        expect(top.length).toBe(Math.min(maxRecent, clicks.length));
        const sorted = [...clicks].sort((a, b) => b - a);
        expect(top.map((t) => t.clicks * 2)).toEqual(sorted.slice(0, top.length).map((n) => Math.round(n / 2) * 2));
      }),
      { numRuns: 300 },
    );
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
    const hot = new HotLinks({ maxEntries: 2, maxBytes: 1 << 20, ttlMs: 60 });
    hot.set("a", link("https://a/"), hot.generation);
    hot.set("b", link("https://b/"), hot.generation);
    hot.get("a");
    hot.set("c", link("https://c/"), hot.generation);
    expect([hot.get("a")?.link.longUrl, hot.get("b"), hot.get("c")?.link.longUrl]).toEqual(["https://a/", undefined, "https://c/"]);
    await Bun.sleep(150);
    expect(hot.get("a")).toBeUndefined();
  });

  test("get gives the link with the code it was kept under, the same answer on every hit", () => {
    const hot = new HotLinks({ maxEntries: 10, maxBytes: 1 << 20, ttlMs: 10_000 });
    const kept = link("https://a/");
    hot.set("aB3x9", kept, hot.generation);
    const first = hot.get(["aB3", "x9"].join(""));
    expect(first?.link).toBe(kept);
    expect(first?.code).toBe("aB3x9");
    expect(hot.get("aB3x9")).toBe(first!);
    expect(hot.get("aB3x8")).toBeUndefined();
  });

  test("drop and clear forget entries; size 0, bytes 0 or TTL 0 turns the cache off", () => {
    const hot = new HotLinks({ maxEntries: 10, maxBytes: 1 << 20, ttlMs: 10_000 });
    hot.set("a", link("x"), hot.generation);
    hot.set("b", link("y"), hot.generation);
    hot.drop(["a"]);
    expect([hot.get("a"), hot.get("b")?.link.longUrl, hot.size]).toEqual([undefined, "y", 1]);
    hot.clear();
    expect(hot.size).toBe(0);
    for (const off of [new HotLinks({ maxEntries: 0, maxBytes: 1 << 20, ttlMs: 1000 }), new HotLinks({ maxEntries: 10, maxBytes: 1 << 20, ttlMs: 0 }), new HotLinks({ maxEntries: 10, maxBytes: 0, ttlMs: 1000 })]) {
      off.set("a", link("x"), off.generation);
      expect(off.get("a")).toBeUndefined();
    }
  });

  test("property: bounded by bytes too: what it holds never weighs more than maxBytes, the newest fitting link is kept, and one heavier than the bound is not", () => {
    fc.assert(
      fc.property(fc.integer({ min: 2_000, max: 40_000 }), fc.array(fc.integer({ min: 1, max: 4_000 }), { minLength: 1, maxLength: 60 }), (maxBytes, lengths) => {
        const hot = new HotLinks({ maxEntries: 1_000, maxBytes, ttlMs: 60_000 });
        lengths.forEach((n, i) => {
          const value = link(`https://x/${"p".repeat(n)}`);
          hot.set(`c${i}`, value, hot.generation);
          expect(hot.bytes).toBeLessThanOrEqual(maxBytes);
          expect(hot.get(`c${i}`) !== undefined).toBe(entryBytes(value, `c${i}`) <= maxBytes);
        });
      }),
      { numRuns: 200 },
    );
  });

  test("a value read across an invalidation is not cached (a read that raced an edit cannot bring the old target back)", () => {
    const hot = new HotLinks({ maxEntries: 10, maxBytes: 1 << 20, ttlMs: 10_000 });
    const before = hot.generation;
    hot.drop(["a"]);
    hot.set("a", link("https://old/"), before);
    expect(hot.get("a")).toBeUndefined();
    hot.set("a", link("https://new/"), hot.generation);
    expect(hot.get("a")?.link.longUrl).toBe("https://new/");
  });
});
