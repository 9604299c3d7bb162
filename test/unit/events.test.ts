import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { sumInstances } from "../../src/events/cluster-metrics";
import { EventFactory } from "../../src/events/event-factory";
import { linkEventSchema } from "../../src/events/event-schema";
import { CacheMetrics, cacheFigures, emptyShardCounters } from "../../src/observability/cache-metrics";
import type { ReadOutcome } from "../../src/domain/outcomes";

describe("cache metrics", () => {
  test("a HIT is a Redis read; every other outcome is a MISS; rates come from the counts", () => {
    const m = new CacheMetrics(2);
    m.recordRead(0, "redis", true);
    m.recordRead(0, "redis", true);
    m.recordRead(1, "replica", true);
    m.recordRead(1, "primary", true);
    m.recordRead(1, "none", false);
    m.recordRead(null, "none", false);
    m.recordRead(0, "error", false);
    expect(m.snapshot()).toEqual({ cache_hit_count: 2, cache_miss_count: 5, cache_total: 7, cache_hit_rate: 0.2857, cache_miss_rate: 0.7143 });
    expect(m.shards[1]).toMatchObject({ misses: 3, replica_fallbacks: 1, primary_fallbacks: 1, not_found: 1 });
    expect(m.shards[0]).toMatchObject({ hits: 2, misses: 1, errors: 1, not_found: 0 });
  });

  test("no reads: rates are 0, not NaN", () => {
    expect(new CacheMetrics(1).snapshot().cache_hit_rate).toBe(0);
  });
});

describe("events", () => {
  const factory = new EventFactory("instance-3");
  const parse = (e: { json: string }) => linkEventSchema.parse(JSON.parse(e.json));

  test("read and write events are valid JSON of the schema, with node names from the shard", () => {
    const read = parse(factory.read({ code: "abc", shard: 2, status: "OK", cache: "MISS", source: "replica", latencyMs: 1.23456, owner: null, rule: 3 }, 2, 5));
    expect(read).toMatchObject({ type: "read", node: "instance-3", redis: "redis-2", db: "replica-2", latency_ms: 1.235, short_code: "abc", rule: 3 });
    expect(read).toMatchObject({ cache_hit_count: 2, cache_miss_count: 5, cache_total: 7, cache_hit_rate: 0.2857, cache_miss_rate: 0.7143 });
    expect(read.type === "read" && read.cache_metrics).toEqual({ cache_hit_count: 2, cache_miss_count: 5, cache_total: 7, cache_hit_rate: 0.2857, cache_miss_rate: 0.7143 });
    const hit = parse(factory.read({ code: "abc", shard: 1, status: "OK", cache: "HIT", source: "redis", latencyMs: 0.1, owner: null, rule: null }, 3, 5));
    expect(hit.db).toBeNull();
    expect(hit.type === "read" && hit.rule).toBeNull();
    const write = parse(factory.write({ code: "xyz", shard: 0, status: "OK", created: true, latencyMs: 2, owner: null }));
    expect(write).toMatchObject({ type: "write", db: "primary-0", redis: "redis-0", short_code: "xyz" });
    expect(read.event_id).not.toBe(write.event_id);
  });

  test("any read outcome is an event of the schema whose figures are cacheFigures() of its counters", () => {
    const common = {
      shard: fc.option(fc.nat({ max: 7 }), { nil: null }),
      cache: fc.constantFrom("HIT", "MISS"),
      source: fc.constantFrom("memory", "redis", "replica", "primary", "none", "error"),
      latencyMs: fc.double({ min: 0, max: 60_000, noNaN: true }),
      owner: fc.constant(null),
      rule: fc.option(fc.nat({ max: 19 })),
    };
    // A served (OK) read's code passed the path shape check; any other may be anything.
    const outcome = fc.oneof(
      fc.record({ ...common, code: fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/), status: fc.constant("OK") }),
      fc.record({ ...common, code: fc.string({ maxLength: 80 }), status: fc.constantFrom("NOT_FOUND", "GONE", "ERROR") }),
    ) as fc.Arbitrary<ReadOutcome>;
    fc.assert(
      fc.property(outcome, fc.nat({ max: 10_000_000 }), fc.nat({ max: 10_000_000 }), (o, hits, misses) => {
        const event = parse(factory.read(o, hits, misses));
        const figures = cacheFigures(hits, misses);
        expect(event).toMatchObject({ ...figures, short_code: o.code.slice(0, 64), status: o.status, latency_ms: Math.round(o.latencyMs * 1000) / 1000 });
        expect(event.type === "read" && event.cache_metrics).toEqual(figures);
      }),
      { numRuns: 3000 },
    );
  });

  test("hostile short codes stay inside their JSON string", () => {
    for (const code of ['a"b', "a\\b", "</script>", "line\nbreak", "\u2028", "😀", "x".repeat(100)]) {
      const event = parse(factory.read({ code, shard: null, status: "NOT_FOUND", cache: "MISS", source: "none", latencyMs: 0, owner: null, rule: null }, 0, 1));
      expect(event.short_code).toBe(code.slice(0, 64));
      expect(event).toMatchObject({ redis: null, db: null });
    }
  });

  test("a failed write has no code and no shard", () => {
    expect(parse(factory.write({ code: null, shard: null, status: "ERROR", created: false, latencyMs: 3, owner: null }))).toMatchObject({ short_code: null, db: null, status: "ERROR" });
  });

  test("the schema refuses extra or missing fields", () => {
    const write = JSON.parse(factory.write({ code: "xyz", shard: 0, status: "OK", created: true, latencyMs: 2, owner: null }).json);
    expect(linkEventSchema.safeParse({ ...write, extra: 1 }).success).toBe(false);
    const { latency_ms: _, ...missing } = write;
    expect(linkEventSchema.safeParse(missing).success).toBe(false);
  });
});

test("cluster figures are the sums over instances, with rates recomputed from the sums and the top links merged", () => {
  const shard = (hits: number, memory_hits: number) => ({ ...emptyShardCounters(), hits, memory_hits });
  const sum = sumInstances([
    { node: "instance-1", at: 0, hits: 3, misses: 1, memory_hits: 2, reads_per_s: 10, writes_per_s: 1, clicks_per_s: 7, clicks_total: 70, top_links: [{ code: "a", clicks: 5 }, { code: "b", clicks: 4 }], shards: [shard(3, 2)] },
    { node: "instance-0", at: 0, hits: 1, misses: 5, memory_hits: 1, reads_per_s: 5, writes_per_s: 2, clicks_per_s: 1.5, clicks_total: 15, top_links: [{ code: "b", clicks: 3 }], shards: [shard(1, 1)] },
  ]);
  expect(sum).toMatchObject({ instances: ["instance-0", "instance-1"], cache_hit_count: 4, cache_miss_count: 6, cache_total: 10, cache_hit_rate: 0.4, reads_per_s: 15, writes_per_s: 3, memory_hits: 3, clicks_per_s: 8.5, clicks_total: 85 });
  expect(sum.top_links).toEqual([{ code: "b", clicks: 7 }, { code: "a", clicks: 5 }]);
  expect(sum.shards[0]).toMatchObject({ hits: 4, memory_hits: 3 });
});
