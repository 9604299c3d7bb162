import { afterAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { ShardSet } from "../../src/storage/shard-set";
import { createLinksWithIndex, findCodeForUrl, findLongUrl, type NewLink } from "../../src/storage/link-rows";
import { freshCode, freshId } from "../../harness/cluster";
import { clusterConfig } from "../../harness/system";

/** The create statement against a real primary: both rows or neither. */
const config = clusterConfig();
const policy = { timeoutMs: 2000, retries: 0, breakAfter: 5, halfOpenAfterMs: 500 };
const shards = ShardSet.connect(config.shards, { redisPolicy: policy, dbPolicy: policy, dbPoolSize: 2 });
const primary = shards.at(0).primary;
afterAll(() => shards.close());

const hashOf = (url: string) => createHash("sha256").update(url).digest();
const createOne = async (link: NewLink) => (await createLinksWithIndex(primary, [link]))[0];
const freshUrl = () => `https://example.com/rows/${crypto.randomUUID()}`;
const newLink = (url = freshUrl()): NewLink => ({ id: freshId(), code: freshCode("r"), longUrl: url, urlHash: hashOf(url), owner: null });

describe("createLinksWithIndex", () => {
  test("writes the link and the index together and returns our code", async () => {
    const url = `https://example.com/rows/${crypto.randomUUID()}`;
    const code = freshCode("r");
    expect(await createOne({ id: freshId(), code, longUrl: url, urlHash: hashOf(url), owner: null })).toBe(code);
    expect(await findLongUrl(primary, code)).toBe(url);
    expect(await findCodeForUrl(primary, hashOf(url))).toBe(code);
  });

  test("a second code for the same URL gets the first one back and writes nothing", async () => {
    const url = `https://example.com/rows/${crypto.randomUUID()}`;
    const first = freshCode("r");
    const second = freshCode("r");
    await createOne({ id: freshId(), code: first, longUrl: url, urlHash: hashOf(url), owner: null });
    expect(await createOne({ id: freshId(), code: second, longUrl: url, urlHash: hashOf(url), owner: null })).toBe(first);
    expect(await findLongUrl(primary, second)).toBeNull();
  });

  test("re-running the same create (a retry after a timeout) returns the same code", async () => {
    const url = `https://example.com/rows/${crypto.randomUUID()}`;
    const link = { id: freshId(), code: freshCode("r"), longUrl: url, urlHash: hashOf(url), owner: null };
    await createOne(link);
    expect(await createOne(link)).toBe(link.code);
  });

  test("a code taken by another id fails the whole statement: no index row points at someone else's link", async () => {
    const taken = `https://example.com/rows/${crypto.randomUUID()}`;
    const code = freshCode("r");
    await createOne({ id: freshId(), code, longUrl: taken, urlHash: hashOf(taken), owner: null });
    const url = `https://example.com/rows/${crypto.randomUUID()}`;
    await expect(createOne({ id: freshId(), code, longUrl: url, urlHash: hashOf(url), owner: null })).rejects.toThrow();
    expect(await findCodeForUrl(primary, hashOf(url))).toBeNull();
    expect(await findLongUrl(primary, code)).toBe(taken);
  });

  test("many links in one statement: each claims its URL; a repeated URL gets the batch's first code; a known URL gets its old code", async () => {
    const known = newLink();
    await createOne(known);
    const a = newLink();
    const b = newLink();
    const aAgain = newLink(a.longUrl);
    const knownAgain = newLink(known.longUrl);
    expect(await createLinksWithIndex(primary, [a, b, aAgain, knownAgain])).toEqual([a.code, b.code, a.code, known.code]);
    expect(await findLongUrl(primary, a.code)).toBe(a.longUrl);
    expect(await findLongUrl(primary, b.code)).toBe(b.longUrl);
    // Losers write no link row: their codes do not exist.
    expect(await findLongUrl(primary, aAgain.code)).toBeNull();
    expect(await findLongUrl(primary, knownAgain.code)).toBeNull();
  });

  test("a batch with a taken code fails whole: none of its links or claims is written", async () => {
    const taken = newLink();
    await createOne(taken);
    const good = newLink();
    const clash = { ...newLink(), code: taken.code };
    await expect(createLinksWithIndex(primary, [good, clash])).rejects.toThrow();
    expect(await findLongUrl(primary, good.code)).toBeNull();
    expect(await findCodeForUrl(primary, good.urlHash)).toBeNull();
  });

  test("concurrent batches claiming the same URLs agree on one code per URL", async () => {
    const urls = Array.from({ length: 20 }, freshUrl);
    const batches = await Promise.all(Array.from({ length: 6 }, () => createLinksWithIndex(primary, urls.map((u) => newLink(u)))));
    for (let i = 0; i < urls.length; i++) {
      const codes = new Set(batches.map((b) => b[i]));
      expect(codes.size).toBe(1);
      expect(await findLongUrl(primary, [...codes][0]!)).toBe(urls[i]!);
    }
  });
});
