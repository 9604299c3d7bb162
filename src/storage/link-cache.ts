import type { RedisNode } from "./nodes";
import { redisCall } from "./nodes";

/**
 * Redis keys: `l:<code>` → long URL on the code's shard; `u:<sha256 hex>` → code on the URL's
 * shard (the create path's dedupe shortcut). Both expire after the configured TTL and are
 * refilled from PostgreSQL on the next miss, so Redis never holds the only copy of anything.
 */
const linkKey = (code: string) => `l:${code}`;
const urlKey = (urlHashHex: string) => `u:${urlHashHex}`;

export function getCachedLongUrl(node: RedisNode, code: string): Promise<string | null> {
  return redisCall(node, (r) => r.get(linkKey(code)), { idempotent: true });
}

export async function cacheLongUrl(node: RedisNode, code: string, longUrl: string, ttlSeconds: number): Promise<void> {
  await redisCall(node, (r) => (ttlSeconds > 0 ? r.set(linkKey(code), longUrl, "EX", ttlSeconds) : r.set(linkKey(code), longUrl)), { idempotent: true });
}

export function getCachedCodeForUrl(node: RedisNode, urlHashHex: string): Promise<string | null> {
  return redisCall(node, (r) => r.get(urlKey(urlHashHex)), { idempotent: true });
}

export async function cacheCodeForUrl(node: RedisNode, urlHashHex: string, code: string, ttlSeconds: number): Promise<void> {
  await redisCall(node, (r) => (ttlSeconds > 0 ? r.set(urlKey(urlHashHex), code, "EX", ttlSeconds) : r.set(urlKey(urlHashHex), code)), { idempotent: true });
}
