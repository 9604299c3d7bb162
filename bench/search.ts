#!/usr/bin/env bun
/**
 * GET /api/links?q=&tag= at 1M links per key: the list's own statement (owned-link-rows.ts) on a
 * real PostgreSQL holding 1,000,000 links of one key and 200,000 of another, each query's first
 * page (51 rows, as the API asks a shard) timed ROUNDS times, with the search and tag indexes of
 * migrations/011 and then without them. Also what the indexes cost: their build time, and the
 * time to insert 100,000 more links with and without them.
 *
 *   bun bench/search.ts [--rows 1000000] [--rounds 15]
 */
import { parseArgs } from "node:util";
import postgres from "postgres";
import { clusterDir, clusterDown, clusterUpOnFreePorts, readState, REPO_ROOT } from "../scripts/cluster/index";
import { applyMigrations } from "../src/storage/migrate";
import { closePgNode, createPgNode } from "../src/storage/nodes";
import { listOwnedLinks, type LinkFilter } from "../src/storage/owned-link-rows";

const { values } = parseArgs({ args: Bun.argv.slice(2), options: { rows: { type: "string", default: "1000000" }, rounds: { type: "string", default: "15" } } });
const ROWS = Number(values.rows);
const ROUNDS = Number(values.rounds);
const NAME = `search-${process.pid}`;
const OWNER = "bench-key";

await clusterUpOnFreePorts({ name: NAME, shards: 1, firstBase: 24_100, slots: 20, fast: false });
const state = readState(clusterDir(REPO_ROOT, NAME));
const url = `postgres://postgres@127.0.0.1:${state.nodes.find((n) => n.role === "primary")!.port}/shorten`;
const sql = postgres(url, { max: 1, onnotice: () => {} });
const node = createPgNode("primary-0", "primary", url, { timeoutMs: 60_000, retries: 0, breakAfter: 100, halfOpenAfterMs: 1000 }, 2, 0);
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const timed = async (work: () => Promise<unknown>) => {
  const t = performance.now();
  await work();
  return performance.now() - t;
};

try {
  await applyMigrations(sql, `${REPO_ROOT}/migrations`);
  // Titles of two words from 1,000 (each word in ~0.2 % of titles), URLs with one of 20 hosts, and 1-3 tags of 50.
  const fill = (owner: string, from: number, count: number) => sql.unsafe(`
    insert into links (code, id, long_url, owner, alias, title, tags, created_at)
    select 'b' || to_hex(i), i, 'https://host' || (i % 20) || '.example/' || md5(i::text), '${owner}', false,
           'Report w' || (i * 7919 % 1000) || ' w' || (i * 104729 % 1000), array['tag' || (i % 50)] || case when i % 3 = 0 then array['tag' || (i % 7 + 50)] else '{}' end,
           now() - (i || ' seconds')::interval
    from generate_series(${from}::bigint, ${from + count - 1}::bigint) as i`);
  await sql`drop index links_owner_search`;
  await sql`drop index links_owner_tags`;
  const load = await timed(async () => {
    await fill(OWNER, 1, ROWS);
    await fill("other-key", ROWS + 1, ROWS / 5);
  });
  console.log(`loaded ${ROWS.toLocaleString()} + ${(ROWS / 5).toLocaleString()} links in ${seconds(load)}`);
  await sql`vacuum analyze links`;

  const queries: Array<[string, LinkFilter]> = [
    ["no filter", {}],
    ["q: a rare word (~0.2 %)", { q: "w417 " }],
    ["q: in every title", { q: "report" }],
    ["q: no match", { q: "zzqqxx" }],
    ["q: part of a URL host (5 %)", { q: "host7." }],
    ["tag: 2 % of links", { tag: "tag7" }],
    ["tag: none", { tag: "nosuch" }],
    ["q and tag", { q: "w417 ", tag: "tag7" }],
  ];
  const measure = async () => {
    const out = new Map<string, { p50: number; p95: number; rows: number }>();
    for (const [label, filter] of queries) {
      const times: number[] = [];
      let rows = 0;
      for (let r = 0; r < ROUNDS; r++) {
        const t = performance.now();
        rows = (await listOwnedLinks(node, OWNER, null, 51, filter)).length;
        times.push(performance.now() - t);
      }
      times.sort((a, b) => a - b);
      out.set(label, { p50: times[Math.floor(ROUNDS / 2)]!, p95: times[Math.min(ROUNDS - 1, Math.floor(ROUNDS * 0.95))]!, rows });
    }
    return out;
  };
  const without = await measure();
  const build = await timed(async () => {
    await sql`CREATE INDEX links_owner_search ON links USING gin (owner, lower(code || ' ' || coalesce(title, '') || ' ' || long_url) gin_trgm_ops) WHERE owner IS NOT NULL`;
    await sql`CREATE INDEX links_owner_tags ON links USING gin (owner, tags) WHERE owner IS NOT NULL`;
  });
  await sql`analyze links`;
  const withIndexes = await measure();
  const insertWith = await timed(() => fill(OWNER, 2 * ROWS, 100_000));
  await sql`drop index links_owner_search`;
  await sql`drop index links_owner_tags`;
  const insertWithout = await timed(() => fill(OWNER, 3 * ROWS, 100_000));

  const ms = (n: number) => n.toFixed(1);
  console.log(`\nThe list's first page (51 rows) for a key with ${ROWS.toLocaleString()} links, ${ROUNDS} rounds each, ms (2026-12-06)\n`);
  console.log("| query | rows | with indexes p50 | p95 | without p50 | p95 |");
  console.log("| --- | --- | --- | --- | --- | --- |");
  for (const [label] of queries) {
    const a = withIndexes.get(label)!;
    const b = without.get(label)!;
    console.log(`| ${label} | ${a.rows} | ${ms(a.p50)} | ${ms(a.p95)} | ${ms(b.p50)} | ${ms(b.p95)} |`);
  }
  console.log(`\nindex build on ${(ROWS * 1.2).toLocaleString()} links: ${seconds(build)}; 100,000 more links inserted in ${seconds(insertWith)} with the indexes, ${seconds(insertWithout)} without (${(insertWith / insertWithout).toFixed(2)}x)`);
} finally {
  await closePgNode(node);
  await sql.end({ timeout: 2 });
  await clusterDown({ name: NAME, wipe: true });
}
