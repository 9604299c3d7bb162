import { writeFileSync } from "node:fs";
import Redis from "ioredis";
import type { ShardUrls } from "./stack";

export interface SeededCode {
  code: string;
  shard: number;
  longUrl: string;
  hot: boolean;
}

/** Creates links through the API (so they exist exactly as users make them), `concurrency` at a time. */
export async function createLinks(baseUrl: string, urls: readonly string[], concurrency = 16): Promise<Array<{ code: string; shard: number; longUrl: string; status: number }>> {
  const out: Array<{ code: string; shard: number; longUrl: string; status: number }> = new Array(urls.length);
  let next = 0;
  const worker = async () => {
    while (next < urls.length) {
      const i = next++;
      const res = await fetch(`${baseUrl}/create`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ url: urls[i] }) });
      const body = (await res.json()) as { short_code?: string; long_url?: string };
      if ((res.status !== 201 && res.status !== 200) || !body.short_code || !body.long_url) throw new Error(`seeding: POST /create answered ${res.status} ${JSON.stringify(body)}`);
      out[i] = { code: body.short_code, shard: Number(res.headers.get("x-shard")), longUrl: body.long_url, status: res.status };
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return out;
}

/** `hot` + `cold` fresh links; the cold ones are evicted from Redis so their first read misses. */
export async function seedRedirectCodes(baseUrl: string, shards: readonly ShardUrls[], hot: number, cold: number, tag: string): Promise<SeededCode[]> {
  const urls = Array.from({ length: hot + cold }, (_, i) => `https://bench.example/${i < hot ? "hot" : "cold"}/${tag}/${i}`);
  const created = await createLinks(baseUrl, urls);
  const codes = created.map((c, i) => ({ code: c.code, shard: c.shard, longUrl: c.longUrl, hot: i < hot }));
  await evict(shards, codes.filter((c) => !c.hot));
  return codes;
}

/** Lines "<code> <hot|cold> <shard>", the format bench/wrk/redirects.lua and open-loop.ts read. */
export function writeCodesFile(file: string, codes: readonly SeededCode[]): string {
  writeFileSync(file, `${codes.map((c) => `${c.code} ${c.hot ? "hot" : "cold"} ${c.shard}`).join("\n")}\n`);
  return file;
}

/** Deletes the cached long URL of each code on its shard's Redis (only shards listed in `only`, if given). Down nodes are skipped. */
export async function evict(shards: readonly ShardUrls[], codes: readonly SeededCode[], only?: readonly number[]): Promise<number> {
  return perShard(shards, codes, only, (r, list) => r.del(...list.map((c) => `l:${c.code}`)));
}

/** Puts the long URL of each code back in its shard's Redis, as a read would after a miss. */
export async function recache(shards: readonly ShardUrls[], codes: readonly SeededCode[], ttlSeconds = 86_400): Promise<number> {
  return perShard(shards, codes, undefined, async (r, list) => {
    const p = r.pipeline();
    for (const c of list) p.set(`l:${c.code}`, c.longUrl, "EX", ttlSeconds);
    await p.exec();
    return list.length;
  });
}

async function perShard(shards: readonly ShardUrls[], codes: readonly SeededCode[], only: readonly number[] | undefined, op: (r: Redis, list: SeededCode[]) => Promise<unknown>): Promise<number> {
  let n = 0;
  await Promise.all(
    shards.map(async (s, i) => {
      const list = codes.filter((c) => c.shard === i);
      if (list.length === 0 || (only && !only.includes(i))) return;
      const r = new Redis(s.redis, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, connectTimeout: 500, retryStrategy: () => null });
      r.on("error", () => {});
      try {
        await r.connect();
        for (let k = 0; k < list.length; k += 500) await op(r, list.slice(k, k + 500));
        n += list.length;
      } catch {
        // node down (fault phase): nothing cached there anyway
      } finally {
        r.disconnect();
      }
    }),
  );
  return n;
}
