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

/**
 * Creates the link and claims its long URL in one statement, on the URL's own shard: either both
 * rows are written or neither, so there is no window in which a code exists without its index or
 * the reverse. Returns the code that owns the URL afterwards: ours, or the one claimed first.
 * A code already taken by another id (a shared INSTANCE_ID) fails the whole statement with a
 * unique violation. Re-running it after a timeout finds its own claim and returns the same code.
 */
export async function createLinkWithIndex(node: PgNode, link: { id: bigint; code: string; longUrl: string; urlHash: Buffer }): Promise<string> {
  const rows = await pgCall(
    node,
    (sql) => sql<{ code: string }[]>`
      with claim as (
        insert into url_index (url_hash, long_url, code) values (${link.urlHash}, ${link.longUrl}, ${link.code})
        on conflict (url_hash) do nothing
        returning code
      ), link as (
        insert into links (code, id, long_url)
        select ${link.code}, ${link.id.toString()}, ${link.longUrl} from claim
        returning code
      )
      select code from link
      union all
      select code from url_index where url_hash = ${link.urlHash} and not exists (select 1 from claim)
      limit 1`,
    { idempotent: true },
  );
  return rows[0]?.code ?? ownerAfterConflict(node, link.urlHash);
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
