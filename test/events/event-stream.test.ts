import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { linkEventSchema, readEventSchema } from "../../src/events/event-schema";
import { eventually, startServer, type ServerProcess } from "../../harness/server-process";
import { uniqueUrl } from "../../harness/system";
import { connect } from "./ws-client";

/** Two real server processes on one cluster: a client on either sees both instances' events. */
const FEED_SIZE = 5;
let a: ServerProcess;
let b: ServerProcess;

beforeAll(async () => {
  const env = { RATE_LIMIT_ENABLED: "false", EVENT_FLUSH_MS: "20", METRICS_PUSH_MS: "200", EVENT_FEED_SIZE: String(FEED_SIZE) };
  [a, b] = await Promise.all([startServer({ ...env, INSTANCE_ID: "11" }), startServer({ ...env, INSTANCE_ID: "12" })]);
});
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
});

const wsUrl = (s: ServerProcess, query = "") => `ws://127.0.0.1:${s.port}/ws${query}`;

async function create(s: ServerProcess, url = uniqueUrl("ev")): Promise<string> {
  const res = await fetch(`${s.url}/create`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ url }) });
  return ((await res.json()) as { short_code: string }).short_code;
}

const get = (s: ServerProcess, code: string) => fetch(`${s.url}/${code}`, { redirect: "manual" });

describe("event stream", () => {
  test("every read and write is an event of the documented shape, from every instance", async () => {
    const client = await connect(wsUrl(a, "?topics=events"));
    try {
      const code = await create(b);
      await get(b, code);
      await get(a, code);
      await get(b, "zzzzzzzzzz");
      await get(a, "bad-shape!");
      const events = await eventually(() => {
        const evs = client.events();
        return evs.filter((e) => e.short_code === code).length >= 3 && evs.some((e) => e.short_code === "zzzzzzzzzz") && evs.some((e) => e.short_code === "bad-shape!") ? evs : undefined;
      }, "events from both instances", 10_000);
      for (const e of events) expect(linkEventSchema.safeParse(e).error).toBeUndefined();
      const mine = events.filter((e) => e.short_code === code);
      const write = mine.find((e) => e.type === "write")!;
      expect(write).toMatchObject({ status: "OK", node: "instance-12" });
      const reads = mine.filter((e) => e.type === "read");
      expect(reads.map((e) => e.node).sort()).toEqual(["instance-11", "instance-12"]);
      for (const r of reads) expect(r).toMatchObject({ status: "OK", cache: "HIT", source: "redis" });
      const notFound = events.find((e) => e.short_code === "zzzzzzzzzz")!;
      expect(notFound).toMatchObject({ type: "read", status: "NOT_FOUND", cache: "MISS", source: "none", node: "instance-12" });
      const malformed = events.find((e) => e.short_code === "bad-shape!")!;
      expect(malformed).toMatchObject({ status: "NOT_FOUND", redis: null, db: null, node: "instance-11" });
      const parsed = readEventSchema.parse(reads[0]);
      expect(parsed.cache_metrics).toEqual({
        cache_hit_count: parsed.cache_hit_count,
        cache_miss_count: parsed.cache_miss_count,
        cache_total: parsed.cache_total,
        cache_hit_rate: parsed.cache_hit_rate,
        cache_miss_rate: parsed.cache_miss_rate,
      });
      expect(parsed.cache_total).toBe(parsed.cache_hit_count + parsed.cache_miss_count);
    } finally {
      client.close();
    }
  });

  test("topics: writes only, then subscribe to reads by message", async () => {
    const client = await connect(wsUrl(b, "?topics=writes"));
    try {
      const code = await create(a);
      await get(a, code);
      await eventually(() => client.events().find((e) => e.short_code === code && e.type === "write"), "write event", 10_000);
      await Bun.sleep(200);
      expect(client.events().every((e) => e.type === "write")).toBe(true);
      client.ws.send(JSON.stringify({ subscribe: ["reads"] }));
      await eventually(() => client.messages.find((m) => m.kind === "subscribed" && (m.topics as string[]).includes("reads")), "subscribe ack", 5000);
      await get(a, code);
      await eventually(() => client.events().find((e) => e.short_code === code && e.type === "read"), "read event after subscribing", 10_000);
    } finally {
      client.close();
    }
  });

  test("a bad subscribe message gets an error and the connection stays usable", async () => {
    const client = await connect(wsUrl(a, "?topics=metrics"));
    try {
      client.ws.send("{nope");
      client.ws.send(JSON.stringify({ subscribe: ["everything"] }));
      const errors = await eventually(() => {
        const errs = client.messages.filter((m) => m.kind === "error");
        return errs.length >= 2 ? errs : undefined;
      }, "two error replies", 5000);
      expect((errors[0]!.error as { code: string }).code).toBe("invalid-message");
      await eventually(() => client.messages.find((m) => m.kind === "metrics"), "metrics still flowing", 5000);
    } finally {
      client.close();
    }
  });

  test("an instance receives only what its clients hold: a metrics-only client gets no other instance's batches, until it subscribes to events", async () => {
    const busBatches = async (s: ServerProcess, direction: string) => {
      const text = await (await fetch(`${s.url}/metrics`)).text();
      return Number(new RegExp(`^shorten_bus_batches\\{direction="${direction}",channel="all"\\} (\\d+)$`, "m").exec(text)?.[1] ?? NaN);
    };
    const watcher = await connect(wsUrl(b, "?topics=metrics"));
    const local = await connect(wsUrl(a, "?topics=events"));
    try {
      // Past one NUMSUB count, so A knows who listens and nothing is in flight from before.
      await Bun.sleep(1200);
      const [sentBefore, receivedBefore] = [await busBatches(a, "sent"), await busBatches(b, "received")];
      const code = await create(a);
      await get(a, code);
      await eventually(() => local.events().find((e) => e.short_code === code && e.type === "read"), "A's own client to get A's events", 10_000);
      expect([await busBatches(a, "sent"), await busBatches(b, "received")]).toEqual([sentBefore, receivedBefore]);

      watcher.ws.send(JSON.stringify({ subscribe: ["events"] }));
      await eventually(() => watcher.messages.find((m) => m.kind === "subscribed" && (m.topics as string[]).includes("events")), "subscribe ack", 5000);
      await get(a, code);
      await eventually(() => watcher.events().find((e) => e.short_code === code && e.node === "instance-11"), "A's event at B's client", 10_000);
      expect(await busBatches(b, "received")).toBeGreaterThan(receivedBefore);
      expect(await busBatches(a, "sent")).toBeGreaterThan(sentBefore);
    } finally {
      watcher.close();
      local.close();
    }
  });

  test("the feed carries at most EVENT_FEED_SIZE of each instance's flushes, the latest, says how many more went by, and relays between instances without the full stream", async () => {
    const busBatches = async (s: ServerProcess) => {
      const text = await (await fetch(`${s.url}/metrics`)).text();
      return Number(/^shorten_bus_batches\{direction="sent",channel="all"\} (\d+)$/m.exec(text)?.[1] ?? NaN);
    };
    const feed = await connect(wsUrl(a, "?topics=feed"));
    try {
      await feed.next("subscribed");
      await Bun.sleep(1200);
      const sentBefore = await busBatches(b);
      const code = await create(b);
      const burst = 300;
      const statuses = await Promise.all(Array.from({ length: burst }, () => get(b, code).then((r) => r.status)));
      expect(statuses.every((s) => s === 302)).toBe(true);
      const fromB = () => feed.messages.filter((m) => m.kind === "events" && m.topic === "feed" && (m.events as Array<Record<string, unknown>>).some((e) => e.node === "instance-12" && e.short_code === code));
      // Every event of the burst is either in the feed or counted as skipped (nothing else runs on B now).
      const messages = await eventually(() => {
        const ms = fromB();
        const told = ms.reduce((n, m) => n + (m.events as unknown[]).length + (m.skipped as number), 0);
        return told >= burst + 1 ? ms : undefined;
      }, "the whole burst, sent or counted", 10_000);
      for (const m of messages) {
        const events = m.events as Array<Record<string, unknown>>;
        expect(events.length).toBeLessThanOrEqual(FEED_SIZE);
        for (const e of events) expect(linkEventSchema.safeParse(e).error).toBeUndefined();
      }
      expect(messages.some((m) => (m.skipped as number) > 0)).toBe(true);
      // B built no batch of the full stream: nobody holds it anywhere.
      expect(await busBatches(b)).toBe(sentBefore);
    } finally {
      feed.close();
    }
  });

  test("the metrics topic carries instance and cluster-wide figures summed over instances", async () => {
    const client = await connect(wsUrl(a, "?topics=metrics"));
    try {
      const code = await create(a);
      await get(a, code);
      await get(b, code);
      const m = await eventually(() => {
        const last = client.messages.filter((x) => x.kind === "metrics").at(-1) as { cluster: { instances: string[] } } | undefined;
        return last && last.cluster.instances.includes("instance-11") && last.cluster.instances.includes("instance-12") ? (last as Record<string, any>) : undefined;
      }, "cluster metrics from both instances", 10_000);
      expect(m.instance.node).toBe("instance-11");
      expect(m.cluster.cache_total).toBe(m.cluster.cache_hit_count + m.cluster.cache_miss_count);
      expect(m.cluster.cache_hit_count).toBeGreaterThanOrEqual(m.instance.cache_hit_count);
      expect(m.cluster.shards.length).toBe(m.instance.shards.length);
      expect(m.nodes.map((n: { name: string }) => n.name)).toContain("redis-0");
      const fromApi = (await (await fetch(`${a.url}/api/metrics`)).json()) as { cluster: { cache_hit_rate: number } };
      expect(typeof fromApi.cluster.cache_hit_rate).toBe("number");
    } finally {
      client.close();
    }
  });
});

describe("GET /metrics", () => {
  test("Prometheus text with request, cache, breaker, buffer and drop series", async () => {
    const code = await create(a);
    await get(a, code);
    const text = await (await fetch(`${a.url}/metrics`)).text();
    for (const name of [
      'shorten_http_requests_total{route="/:code",method="GET",status="302"}',
      "shorten_http_request_duration_seconds_bucket",
      'shorten_cache_requests{result="hit"}',
      "shorten_cache_hit_ratio",
      'shorten_breaker_state{node="redis-0"} 0',
      'shorten_id_buffer_level{shard="0"}',
      'shorten_event_drops{unit="events"}',
      "shorten_event_loop_delay_seconds_bucket",
      'shorten_bus_batches{direction="sent",channel="all"}',
      "shorten_ws_clients",
      'shorten_shard_reads{shard="0",kind="replica_fallbacks"}',
    ]) {
      expect(text).toContain(name);
    }
  });
});
