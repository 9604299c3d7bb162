/**
 * What a re-sharding copies is the whole link: owner, alias, expiry, visit budget, visits, title,
 * tags, query forwarding, redirect rules, password hash, an admin's disabling and
 * both timestamps to the microsecond (the list's keyset needs the exact created_at on the new
 * owner, or a key's links vanish from its list and export after a move).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { ShardSet } from "../../src/storage/shard-set";
import { deleteRows, findRows, insertRows } from "../../src/storage/reshard-rows";
import { pgCall } from "../../src/storage/nodes";
import { freshCode, freshId } from "../../harness/cluster";
import { clusterConfig } from "../../harness/system";

const config = clusterConfig();
const policy = { timeoutMs: 2000, retries: 0, breakAfter: 5, halfOpenAfterMs: 500 };
const shards = ShardSet.connect(config.shards, { redisPolicy: policy, dbPolicy: policy, dbPoolSize: 2 });
const [source, target] = [shards.at(0).primary, shards.at(1).primary];
afterAll(() => shards.close());

const columns = (node: typeof source, codes: string[]) =>
  pgCall(
    node,
    (sql) => sql`select code, id::text, long_url, owner, alias, created_at::text as c, updated_at::text as u, expires_at::text as e, max_visits::text, visits::text, title, tags, forward_query, rules::text as rules, password_hash, disabled_reason, disabled_at::text as d from links where code = any(${codes}) order by code`,
    { idempotent: true },
  );

describe("reshard rows", () => {
  test("a copied link keeps every column, timestamps to the microsecond; its fingerprint matches on both sides", async () => {
    const owned = { code: freshCode("mv"), id: freshId().toString() };
    const plain = { code: freshCode("mv"), id: freshId().toString() };
    await pgCall(
      source,
      (sql) => sql`
        insert into links (code, id, long_url, owner, alias, created_at, updated_at, expires_at, max_visits, visits, title, tags, forward_query, rules, password_hash, disabled_reason, disabled_at) values
          (${owned.code}, ${owned.id}, 'https://example.com/moved', 'key-1', true, '2026-01-02 03:04:05.123456+00', '2026-01-03 00:00:00.654321+00', '2027-01-01 00:00:00.000001+00', 10, 3,
           'A title', '{launch,q3}', false, '[{"when": {"os": ["ios"], "query": {"c": "x, y"}}, "url": "https://i.example/"}]', '$argon2id$v=19$m=65536,t=2,p=1$x$y', 'phishing', '2026-02-01 00:00:00.000002+00'),
          (${plain.code}, ${plain.id}, 'https://example.com/plain', null, false, '2026-01-02 03:04:05.123457+00', '2026-01-02 03:04:05.123457+00', null, null, 0, null, '{}', true, null, null, null, null)`,
      { idempotent: true },
    );
    const codes = [owned.code, plain.code].sort();
    const scanned = await findRows(source, "links", codes.map((c) => Buffer.from(c)));
    expect(await insertRows(target, "links", scanned)).toBe(2);
    expect(await columns(target, codes)).toEqual(await columns(source, codes));
    const copied = await findRows(target, "links", codes.map((c) => Buffer.from(c)));
    expect(copied.map((r) => r.fingerprint).sort()).toEqual(scanned.map((r) => r.fingerprint).sort());
    expect(await insertRows(target, "links", scanned)).toBe(0);
    for (const node of [source, target]) await deleteRows(node, "links", codes.map((c) => Buffer.from(c)));
  });
});
