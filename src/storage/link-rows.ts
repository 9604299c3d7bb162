import type { PgNode } from "./nodes";
import { pgCall } from "./nodes";
import type { RedirectRule } from "../domain/redirect-rules";
import { linkValue, type LinkValue } from "./link-cache";

/**
 * SQL for the three tables of links: `links`, `url_index` and `pending_claims` (migrations/001, 002,
 * 006); a key's own links are owned-link-rows.ts'. Every write here is idempotent by key
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
export async function insertLink(node: PgNode, link: { id: bigint; code: string; longUrl: string; owner: string | null; urlHash: Buffer }): Promise<boolean> {
  const id = link.id.toString();
  // The URL-index claim it owes goes in the same statement (pending_claims): a crash or restart
  // before the claim is made cannot forget it.
  const rows = await pgCall(
    node,
    (sql) => sql<{ id: string }[]>`
      with inserted as (
        insert into links (code, id, long_url, owner) values (${link.code}, ${id}, ${link.longUrl}, ${link.owner})
        on conflict (code) do nothing
        returning id
      ), owed as (
        insert into pending_claims (url_hash, long_url, code) select ${link.urlHash}, ${link.longUrl}, ${link.code} from inserted
        on conflict do nothing
      )
      select id::text from inserted
      union all
      select id::text from links where code = ${link.code}
      limit 1`,
    { idempotent: true },
  );
  return rows[0]?.id === id;
}

export interface PendingClaim {
  urlHash: Buffer;
  longUrl: string;
  code: string;
}

export async function pendingClaims(node: PgNode, limit: number): Promise<PendingClaim[]> {
  const rows = await pgCall(node, (sql) => sql<{ url_hash: Buffer; long_url: string; code: string }[]>`select url_hash, long_url, code from pending_claims order by created_at limit ${limit}`, { idempotent: true });
  return rows.map((r) => ({ urlHash: r.url_hash, longUrl: r.long_url, code: r.code }));
}

export async function settleClaim(node: PgNode, claim: PendingClaim): Promise<void> {
  await pgCall(node, (sql) => sql`delete from pending_claims where url_hash = ${claim.urlHash} and code = ${claim.code}`, { idempotent: true });
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
  /** The API key's id, or null for an anonymous link. */
  owner: string | null;
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
 * and returns the same codes. An earlier claim is read by a per-row subquery on the primary key,
 * not a join: planned while url_index was small (a new shard, no statistics yet), the join was a
 * hash join over a sequential scan of url_index, and postgres.js's prepared statement kept that
 * generic plan while the table grew, so every create scanned the whole index.
 */
export async function createLinksWithIndex(node: PgNode, links: readonly NewLink[]): Promise<string[]> {
  const rows = await pgCall(
    node,
    (sql) => sql<{ ord: number; code: string | null }[]>`
      with input as (
        select ord, decode(h, 'hex') as url_hash, u as long_url, c as code, i::bigint as id, o as owner
        from unnest(${links.map((_, i) => i)}::int[], ${links.map((l) => l.urlHash.toString("hex"))}::text[], ${links.map((l) => l.longUrl)}::text[],
                    ${links.map((l) => l.code)}::text[], ${links.map((l) => l.id.toString())}::text[], ${links.map((l) => l.owner)}::text[]) as t(ord, h, u, c, i, o)
      ), claim as (
        insert into url_index (url_hash, long_url, code)
        select url_hash, long_url, code from input order by ord
        on conflict (url_hash) do nothing
        returning url_hash, code
      ), link as (
        insert into links (code, id, long_url, owner)
        select i.code, i.id, i.long_url, i.owner from input i join claim c on c.url_hash = i.url_hash and c.code = i.code
        returning code
      )
      select i.ord, coalesce(c.code, (select u.code from url_index u where u.url_hash = i.url_hash)) as code
      from input i left join claim c on c.url_hash = i.url_hash
      order by i.ord`,
    { idempotent: true },
  );
  return Promise.all(rows.map((r, i) => (r.code !== null ? r.code : ownerAfterConflict(node, links[i]!.urlHash))));
}

/** What the redirect needs: the target and its limits. */
export async function findLink(node: PgNode, code: string): Promise<LinkValue | null> {
  const rows = await pgCall(
    node,
    (sql) => sql<{ long_url: string; expires_at: Date | null; max_visits: string | null; owner: string | null; forward_query: boolean; rules: RedirectRule[] | null; password_hash: string | null; disabled_reason: string | null }[]>`select long_url, expires_at, max_visits::text, owner, forward_query, rules, password_hash, disabled_reason from links where code = ${code}`,
    { idempotent: true },
  );
  const row = rows[0];
  if (!row) return null;
  return linkValue({ longUrl: row.long_url, expiresAt: row.expires_at?.getTime() ?? null, maxVisits: row.max_visits === null ? null : Number(row.max_visits), owner: row.owner, forwardQuery: row.forward_query, rules: row.rules, passwordHash: row.password_hash, disabled: row.disabled_reason });
}

/**
 * One visit of a link with a visit budget, counted on the primary in the same statement that
 * checks it: false once the budget is used up (never more than max_visits redirects).
 */
export async function countVisit(node: PgNode, code: string): Promise<boolean> {
  const rows = await pgCall(node, (sql) => sql`update links set visits = visits + 1 where code = ${code} and (max_visits is null or visits < max_visits) returning 1`, { idempotent: false });
  return rows.length === 1;
}

/** Removes a dedupe entry only if it still names `code` (the URL may have been claimed again since). */
export async function releaseUrl(node: PgNode, urlHash: Buffer, code: string): Promise<void> {
  await pgCall(node, (sql) => sql`delete from url_index where url_hash = ${urlHash} and code = ${code}`, { idempotent: true });
}
