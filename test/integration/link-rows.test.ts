import { afterAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { parseConfig } from "../../src/config";
import { ShardSet } from "../../src/storage/shard-set";
import { createLinkWithIndex, findCodeForUrl, findLongUrl } from "../../src/storage/link-rows";
import { freshCode, freshId } from "../support/cluster";
import { clusterNodesEnv } from "../support/system";

/** The create statement against a real primary: both rows or neither. */
const parsed = parseConfig(clusterNodesEnv());
if (!parsed.ok) throw new Error(parsed.message);
const policy = { timeoutMs: 2000, retries: 0, breakAfter: 5, halfOpenAfterMs: 500 };
const shards = ShardSet.connect(parsed.config.shards, { redisPolicy: policy, dbPolicy: policy, dbPoolSize: 2 });
const primary = shards.at(0).primary;
afterAll(() => shards.close());

const hashOf = (url: string) => createHash("sha256").update(url).digest();

describe("createLinkWithIndex", () => {
  test("writes the link and the index together and returns our code", async () => {
    const url = `https://example.com/rows/${crypto.randomUUID()}`;
    const code = freshCode("r");
    expect(await createLinkWithIndex(primary, { id: freshId(), code, longUrl: url, urlHash: hashOf(url) })).toBe(code);
    expect(await findLongUrl(primary, code)).toBe(url);
    expect(await findCodeForUrl(primary, hashOf(url))).toBe(code);
  });

  test("a second code for the same URL gets the first one back and writes nothing", async () => {
    const url = `https://example.com/rows/${crypto.randomUUID()}`;
    const first = freshCode("r");
    const second = freshCode("r");
    await createLinkWithIndex(primary, { id: freshId(), code: first, longUrl: url, urlHash: hashOf(url) });
    expect(await createLinkWithIndex(primary, { id: freshId(), code: second, longUrl: url, urlHash: hashOf(url) })).toBe(first);
    expect(await findLongUrl(primary, second)).toBeNull();
  });

  test("re-running the same create (a retry after a timeout) returns the same code", async () => {
    const url = `https://example.com/rows/${crypto.randomUUID()}`;
    const link = { id: freshId(), code: freshCode("r"), longUrl: url, urlHash: hashOf(url) };
    await createLinkWithIndex(primary, link);
    expect(await createLinkWithIndex(primary, link)).toBe(link.code);
  });

  test("a code taken by another id fails the whole statement: no index row points at someone else's link", async () => {
    const taken = `https://example.com/rows/${crypto.randomUUID()}`;
    const code = freshCode("r");
    await createLinkWithIndex(primary, { id: freshId(), code, longUrl: taken, urlHash: hashOf(taken) });
    const url = `https://example.com/rows/${crypto.randomUUID()}`;
    await expect(createLinkWithIndex(primary, { id: freshId(), code, longUrl: url, urlHash: hashOf(url) })).rejects.toThrow();
    expect(await findCodeForUrl(primary, hashOf(url))).toBeNull();
    expect(await findLongUrl(primary, code)).toBe(taken);
  });
});
