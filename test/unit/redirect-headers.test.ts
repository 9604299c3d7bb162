import { expect, test } from "bun:test";
import fc from "fast-check";
import { RedirectHeaders } from "../../src/modules/links/redirect-headers";

const hot = { cache: "HIT", source: "memory", shard: 1 } as const;

test("a target's headers are built once and say where the answer came from; another source or shard builds them again", () => {
  const headers = new RedirectHeaders({ instanceId: 7, permanent: false, maxTargets: 10 });
  const first = headers.of("https://example.com/a", hot);
  expect(Object.fromEntries(first)).toEqual({ location: "https://example.com/a", "x-cache": "HIT", "x-source": "memory", "x-shard": "1", "x-instance": "7" });
  expect(headers.of("https://example.com/a", { ...hot })).toBe(first);
  const fromRedis = headers.of("https://example.com/a", { cache: "HIT", source: "redis", shard: 1 });
  expect(fromRedis.get("x-source")).toBe("redis");
  expect(headers.of("https://example.com/a", { cache: "MISS", source: "replica", shard: 2 }).get("x-shard")).toBe("2");
  // The object handed out earlier is untouched by the rebuild.
  expect(first.get("x-source")).toBe("memory");
});

test("a permanent redirect tells browsers not to keep it; a temporary one says nothing of caching", () => {
  expect(new RedirectHeaders({ instanceId: 1, permanent: true, maxTargets: 10 }).of("https://example.com/", hot).get("cache-control")).toBe("private, max-age=0");
  expect(new RedirectHeaders({ instanceId: 1, permanent: false, maxTargets: 10 }).of("https://example.com/", hot).has("cache-control")).toBe(false);
});

test("property: for any sequence of targets and outcomes, each answer's headers are its own and at most maxTargets are held", () => {
  const outcome = fc.record({ cache: fc.constantFrom("HIT" as const, "MISS" as const), source: fc.constantFrom("memory" as const, "redis" as const, "replica" as const, "primary" as const), shard: fc.option(fc.integer({ min: 0, max: 3 }), { nil: null }) });
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 5 }), fc.array(fc.tuple(fc.constantFrom("https://a.example/", "https://b.example/x?y=1", "https://c.example/", "https://d.example/", "https://e.example/", "https://f.example/"), outcome), { maxLength: 50 }), (maxTargets, answers) => {
      const headers = new RedirectHeaders({ instanceId: 3, permanent: false, maxTargets });
      for (const [location, o] of answers) {
        expect(Object.fromEntries(headers.of(location, o))).toEqual({ location, "x-cache": o.cache, "x-source": o.source, "x-shard": String(o.shard), "x-instance": "3" });
        expect(headers.size).toBeLessThanOrEqual(maxTargets);
      }
    }),
  );
});
