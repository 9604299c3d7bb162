/**
 * OpenTelemetry traces received over OTLP/HTTP by a small in-process collector: a redirect that
 * fell back to the replica is one server span with a child span per Redis and PostgreSQL call,
 * each naming its shard, node and role, and the server span says why it fell back.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eventually } from "../../harness/eventually";
import { startSystem, uniqueUrl, type TestSystem } from "../../harness/system";

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Array<{ key: string; value: { stringValue?: string; intValue?: string | number } }>;
}

const spans: OtlpSpan[] = [];
const collector = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  async fetch(request) {
    const body = (await request.json()) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: OtlpSpan[] }> }> };
    for (const rs of body.resourceSpans) for (const ss of rs.scopeSpans) spans.push(...ss.spans);
    return Response.json({});
  },
});

let sys: TestSystem;
beforeAll(async () => {
  sys = await startSystem({ RATE_LIMIT_ENABLED: "false", HOT_CACHE_SIZE: "0", INSTANCE_ID: "16", OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `http://127.0.0.1:${collector.port}/v1/traces`, OTEL_TRACES_SAMPLER_ARG: "1" });
});
afterAll(async () => {
  await sys.close();
  collector.stop(true);
});

const attr = (span: OtlpSpan, key: string) => {
  const v = span.attributes.find((a) => a.key === key)?.value;
  return v?.stringValue ?? (v?.intValue === undefined ? undefined : Number(v.intValue));
};

describe("tracing", () => {
  test("a redirect that fell back to the replica: server span → Redis span and replica span, with shard, node, role and the reason", async () => {
    const url = uniqueUrl("traced");
    const created = await sys.request("POST", "/create", { url });
    const code = ((await created.json()) as { short_code: string }).short_code;
    const shard = sys.composed.shards.at(sys.composed.router.current.read.shardFor(code));
    await eventually(async () => ((await shard.replica.client`select 1 from links where code = ${code}`).length === 1 ? true : undefined), "the replica to have the link", 10_000);
    await shard.redis.client.del(`l:${code}`);
    const res = await sys.request("GET", `/${code}`);
    expect([res.status, res.headers.get("x-source")]).toEqual([302, "replica"]);

    const server = await eventually(async () => spans.find((s) => s.name === "GET /:code" && attr(s, "url.path") === `/${code}`), "the redirect's server span", 10_000);
    expect(server.kind).toBe(2); // SERVER
    expect(attr(server, "http.response.status_code")).toBe(302);
    expect(attr(server, "shorten.fallback")).toBe("redis-miss");
    const children = await eventually(async () => {
      const found = spans.filter((s) => s.parentSpanId === server.spanId && s.traceId === server.traceId);
      return found.some((s) => s.name === "postgres replica") && found.some((s) => s.name === "redis") ? found : undefined;
    }, "the redirect's child spans", 10_000);
    const redis = children.find((s) => s.name === "redis")!;
    const replica = children.find((s) => s.name === "postgres replica")!;
    expect([attr(redis, "shorten.shard"), attr(redis, "shorten.node"), attr(redis, "shorten.role"), attr(redis, "db.system")]).toEqual([shard.index, `redis-${shard.index}`, "redis", "redis"]);
    expect([attr(replica, "shorten.shard"), attr(replica, "shorten.node"), attr(replica, "shorten.role"), attr(replica, "db.system")]).toEqual([shard.index, `replica-${shard.index}`, "replica", "postgresql"]);
    expect(children.some((s) => s.name === "postgres primary")).toBe(false);
  });

  test("a create is traced too, its statement a child of the request", async () => {
    await sys.request("POST", "/create", { url: uniqueUrl("traced-create") });
    const server = await eventually(async () => spans.find((s) => s.name === "POST /create"), "the create's server span", 10_000);
    await eventually(async () => (spans.some((s) => s.parentSpanId === server.spanId && s.name === "postgres primary") ? true : undefined), "the create's statement span", 10_000);
  });
});
