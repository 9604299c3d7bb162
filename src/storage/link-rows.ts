import type { PgNode } from "./nodes";
import { pgCall } from "./nodes";

/**
 * SQL for the two tables (migrations/001_links.sql). Every write here is idempotent by key
 * (ON CONFLICT DO NOTHING), so the policy may retry it after a timeout without doubling anything.
 */

export async function findLongUrl(node: PgNode, code: string): Promise<string | null> {
  const rows = await pgCall(node, (sql) => sql<{ long_url: string }[]>`select long_url from links where code = ${code}`, { idempotent: true });
  return rows[0]?.long_url ?? null;
}

/**
 * Inserts the link; false when the code already belongs to another id (two instances sharing an
 * INSTANCE_ID would do that), so the caller takes another code instead of handing out one that
 * points elsewhere. A retry that finds its own earlier insert counts as inserted.
 */
export async function insertLink(node: PgNode, link: { id: bigint; code: string; longUrl: string }): Promise<boolean> {
  const id = link.id.toString();
  const rows = await pgCall(
    node,
    (sql) => sql<{ id: string }[]>`
      with inserted as (
        insert into links (code, id, long_url) values (${link.code}, ${id}, ${link.longUrl})
        on conflict (code) do nothing
        returning id
      )
      select id::text from inserted
      union all
      select id::text from links where code = ${link.code}
      limit 1`,
    { idempotent: true },
  );
  return rows[0]?.id === id;
}

export async function deleteLink(node: PgNode, code: string): Promise<void> {
  await pgCall(node, (sql) => sql`delete from links where code = ${code}`, { idempotent: true });
}

export async function findCodeForUrl(node: PgNode, urlHash: Buffer): Promise<string | null> {
  const rows = await pgCall(node, (sql) => sql<{ code: string }[]>`select code from url_index where url_hash = ${urlHash}`, { idempotent: true });
  return rows[0]?.code ?? null;
}

/**
 * Claims the long URL for `code`; returns the code that owns the URL afterwards (ours, or the
 * one a racing create claimed first). One statement, so a retry sees the same winner.
 */
export async function claimUrl(node: PgNode, claim: { urlHash: Buffer; longUrl: string; code: string }): Promise<string> {
  const rows = await pgCall(
    node,
    (sql) => sql<{ code: string }[]>`
      with inserted as (
        insert into url_index (url_hash, long_url, code) values (${claim.urlHash}, ${claim.longUrl}, ${claim.code})
        on conflict (url_hash) do nothing
        returning code
      )
      select code from inserted
      union all
      select code from url_index where url_hash = ${claim.urlHash}
      limit 1`,
    { idempotent: true },
  );
  return rows[0]?.code ?? ownerAfterConflict(node, claim.urlHash);
}

/**
 * A claim statement returns no row when a racing create committed after the statement's
 * snapshot: its index row is visible to a new statement.
 */
async function ownerAfterConflict(node: PgNode, urlHash: Buffer): Promise<string> {
  const existing = await findCodeForUrl(node, urlHash);
  if (existing === null) throw new Error("url_index claim found no owner after a conflict");
  return existing;
}

export interface NewLink {
  id: bigint;
  code: string;
  longUrl: string;
  urlHash: Buffer;
}

/**
 * Creates links and claims their long URLs in one statement, on the URLs' own shard: for each,
 * the index row and the link row are written together or not at all, so there is no window in
 * which a code exists without its index or the reverse. Many links go in one statement (group
 * commit, see modules/links/create-batcher.ts). Returns, per input in order, the
 * code that owns its URL: its own, a batch-mate's (the first of the batch with the same URL), or
 * one claimed before. A claim committed by a concurrent statement after this one's snapshot is
 * re-read. A code taken by another id fails the whole statement (unique violation): the caller
 * retries those links one by one. Re-running a statement after a timeout finds its own claims
 * and returns the same codes.
 */
export async function createLinksWithIndex(node: PgNode, links: readonly NewLink[]): Promise<string[]> {
  const rows = await pgCall(
    node,
    (sql) => sql<{ ord: number; code: string | null }[]>`
      with input as (
        select ord, decode(h, 'hex') as url_hash, u as long_url, c as code, i::bigint as id
        from unnest(${links.map((_, i) => i)}::int[], ${links.map((l) => l.urlHash.toString("hex"))}::text[], ${links.map((l) => l.longUrl)}::text[],
                    ${links.map((l) => l.code)}::text[], ${links.map((l) => l.id.toString())}::text[]) as t(ord, h, u, c, i)
      ), claim as (
        insert into url_index (url_hash, long_url, code)
        select url_hash, long_url, code from input order by ord
        on conflict (url_hash) do nothing
        returning url_hash, code
      ), link as (
        insert into links (code, id, long_url)
        select i.code, i.id, i.long_url from input i join claim c on c.url_hash = i.url_hash and c.code = i.code
        returning code
      )
      select i.ord, coalesce(c.code, u.code) as code
      from input i left join claim c on c.url_hash = i.url_hash left join url_index u on u.url_hash = i.url_hash
      order by i.ord`,
    { idempotent: true },
  );
  return Promise.all(rows.map((r, i) => (r.code !== null ? r.code : ownerAfterConflict(node, links[i]!.urlHash))));
}
