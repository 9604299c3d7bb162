#!/usr/bin/env bun
/**
 * The floor for cached redirects: the least any implementation on this stack must do per
 * request. Bare Bun.serve, one Redis client per node built exactly as the app builds its own
 * (src/storage/nodes.ts createRedisNode: same ioredis options, auto-pipelining included, but
 * none of the policy around it), the same ring to pick the node, one GET of the key the app
 * caches (`l:<code>`), a 302. No validation, events, metrics or framework. The same
 * x-cache/x-source/x-shard headers are sent so the load tools count it as they count the app.
 *
 *   PORT=9000 REDIS_NODES=redis://127.0.0.1:7000,... bun bench/baselines/floor-server.ts
 *
 * FLOOR_CLIENT=defaults uses `new Redis(url)` with ioredis' defaults instead (no auto-pipelining),
 * to show what the client options alone are worth (bench/lib/attribution.ts).
 */
import Redis from "ioredis";
import { HashRing } from "../../src/domain/ring";
import { createRedisNode } from "../../src/storage/nodes";

const port = Number(process.env.PORT ?? 9000);
const nodes = (process.env.REDIS_NODES ?? "").split(",").filter(Boolean);
if (nodes.length === 0) {
  console.error("floor-server: REDIS_NODES is missing");
  process.exit(1);
}
const policy = { timeoutMs: 100, retries: 0, breakAfter: 5, halfOpenAfterMs: 2000 }; // unused: only .client is
const clients =
  process.env.FLOOR_CLIENT === "defaults"
    ? nodes.map((url) => new Redis(url))
    : nodes.map((url, i) => createRedisNode(`floor-redis-${i}`, url, policy).client);
for (const c of clients) c.on("error", () => {});
const ring = new HashRing(nodes.length);
const shardNames = nodes.map((_, i) => String(i));

const server = Bun.serve({
  hostname: "127.0.0.1",
  port,
  async fetch(request) {
    const url = request.url;
    const code = url.slice(url.indexOf("/", url.indexOf("//") + 2) + 1);
    if (code === "health/ready" || code === "health/live") return new Response("ok");
    const shard = ring.shardFor(code);
    const longUrl = await clients[shard]!.get(`l:${code}`);
    if (longUrl === null) return new Response("not cached", { status: 404, headers: { "x-cache": "MISS", "x-source": "none", "x-shard": shardNames[shard]! } });
    return new Response(null, { status: 302, headers: { location: longUrl, "x-cache": "HIT", "x-source": "redis", "x-shard": shardNames[shard]! } });
  },
});

const stop = () => {
  server.stop(true);
  for (const c of clients) c.disconnect();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
