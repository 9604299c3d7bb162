import { afterAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { ShardSet } from "../../src/storage/shard-set";
import { ClaimRepair } from "../../src/modules/links/claim-repair";
import { createLinksWithIndex, deleteLink, findCodeForUrl, findLongUrl, insertLink } from "../../src/storage/link-rows";
import { pgCall } from "../../src/storage/nodes";
import { freshCode, freshId } from "../../harness/cluster";
import { clusterConfig } from "../../harness/system";

/**
 * The ambiguous commit of a primary lost mid-create, on real primaries: the create's first try
 * committed on the URL's shard (its answer died with the primary), and the retry placed a second
 * link on another shard, owing the claim, and answered with that code. Found by the failover
 * test, where the repair used to delete the answered link.
 */
const config = clusterConfig();
const policy = { timeoutMs: 2000, retries: 0, breakAfter: 5, halfOpenAfterMs: 500 };
const shards = ShardSet.connect(config.shards, { redisPolicy: policy, dbPolicy: policy, dbPoolSize: 2 });
const INDEX = 1;
const HOME = 0;
const repair = new ClaimRepair(shards, () => INDEX, { intervalMs: 60_000, batch: 1000 });
const made: Array<[number, string]> = [];
afterAll(async () => {
  for (const [shard, code] of made) await deleteLink(shards.at(shard).primary, code);
  await shards.close();
});

/** The first try, committed on the URL's shard, and the retry's link elsewhere with the claim it owes. */
async function ambiguousCreate() {
  const url = `https://example.com/claims/${crypto.randomUUID()}`;
  const urlHash = createHash("sha256").update(url).digest();
  const first = freshCode("c");
  const retry = freshCode("c");
  await createLinksWithIndex(shards.at(INDEX).primary, [{ id: freshId(), code: first, longUrl: url, urlHash, owner: null }]);
  expect(await insertLink(shards.at(HOME).primary, { id: freshId(), code: retry, longUrl: url, owner: null, urlHash })).toBe(true);
  made.push([INDEX, first], [HOME, retry]);
  return { url, urlHash, first, retry };
}

const owed = async (code: string) =>
  (await pgCall(shards.at(HOME).primary, (sql) => sql<Array<{ n: number }>>`select count(*)::int as n from pending_claims where code = ${code}`, { idempotent: true }))[0]!.n;

describe("claim repair after an ambiguous commit", () => {
  test("the repair pass keeps a link whose code was answered, settles its claim, and the URL dedupes to the first claim", async () => {
    const { url, urlHash, first, retry } = await ambiguousCreate();
    await repair.drain();
    expect(await findLongUrl(shards.at(HOME).primary, retry)).toBe(url);
    expect(await findLongUrl(shards.at(INDEX).primary, first)).toBe(url);
    expect(await findCodeForUrl(shards.at(INDEX).primary, urlHash)).toBe(first);
    expect(await owed(retry)).toBe(0);
  });

  test("the create path, before it answers, removes its own link that lost the claim and answers the winner", async () => {
    const { url, urlHash, first, retry } = await ambiguousCreate();
    expect(await repair.settle(HOME, { urlHash, longUrl: url, code: retry }, false)).toBe(first);
    expect(await findLongUrl(shards.at(HOME).primary, retry)).toBeNull();
    expect(await owed(retry)).toBe(0);
  });
});
