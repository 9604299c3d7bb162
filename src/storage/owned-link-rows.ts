import type postgres from "postgres";
import type { PgNode } from "./nodes";
import type { RedirectRule } from "../domain/redirect-rules";
import { pgCall } from "./nodes";

/**
 * SQL for the links that API keys own (migrations/005, 008, 011): details, edit, delete, the
 * newest-first keyset list with its search and tag filter, and tag counts. Another key's link is
 * never returned: every statement is scoped by owner.
 */

export interface StoredLink {
  code: string;
  /** created_at in microseconds since the epoch, as an integer string: the list cursor's position. */
  createdKey: string;
  longUrl: string;
  owner: string | null;
  alias: boolean;
  createdAt: Date;
  updatedAt: Date;
  expiresAt: Date | null;
  maxVisits: number | null;
  visits: number;
  title: string | null;
  tags: string[];
  forwardQuery: boolean;
  /** Null when the link has none. */
  rules: RedirectRule[] | null;
  /** argon2id; never shown, exported or logged. */
  passwordHash: string | null;
  /** Set when an admin disabled the link. */
  disabled: { reason: string; at: Date } | null;
}

interface StoredRow {
  code: string;
  created_key: string;
  long_url: string;
  owner: string | null;
  alias: boolean;
  created_at: Date;
  updated_at: Date;
  expires_at: Date | null;
  max_visits: string | null;
  visits: string;
  title: string | null;
  tags: string[];
  forward_query: boolean;
  rules: RedirectRule[] | null;
  password_hash: string | null;
  disabled_reason: string | null;
  disabled_at: Date | null;
}

function stored(r: StoredRow): StoredLink {
  return {
    code: r.code,
    createdKey: r.created_key,
    longUrl: r.long_url,
    owner: r.owner,
    alias: r.alias,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    expiresAt: r.expires_at,
    maxVisits: r.max_visits === null ? null : Number(r.max_visits),
    visits: Number(r.visits),
    title: r.title,
    tags: r.tags,
    forwardQuery: r.forward_query,
    rules: r.rules,
    passwordHash: r.password_hash,
    disabled: r.disabled_reason === null ? null : { reason: r.disabled_reason, at: r.disabled_at! },
  };
}

// The sort key as an exact integer of microseconds: a timestamptz handed to postgres.js as a
// parameter goes through a JS Date (milliseconds), which would drop the rows that share a
// millisecond with a page's last row, so keys go in and out as integers and never as dates.
const CREATED_US = `(extract(epoch from created_at) * 1000000)::bigint::text`;
const STORED = `code, ${CREATED_US} as created_key, long_url, owner, alias, created_at, updated_at, expires_at, max_visits::text, visits::text, title, tags, forward_query, rules, password_hash, disabled_reason, disabled_at`;

/** What `q` is matched in; the expression of the links_owner_search index (migrations/011), so the index serves it. */
const SEARCHED = `lower(code || ' ' || coalesce(title, '') || ' ' || long_url)`;

/** A LIKE pattern matching `q` anywhere, its own `%`, `_` and `\` taken literally. */
function containing(q: string): string {
  return `%${q.toLowerCase().replace(/[\\%_]/g, "\\$&")}%`;
}

/** Rules as the jsonb parameter: none is SQL null, never an empty list. */
export function rulesJson(rules: readonly RedirectRule[] | null): string | null {
  return rules === null || rules.length === 0 ? null : JSON.stringify(rules);
}

/** A link with options (alias, expiry, visit budget, title, tags): no dedupe. False when the code is taken. */
export async function insertOwnedLink(
  node: PgNode,
  link: { id: bigint; code: string; longUrl: string; owner: string | null; alias: boolean; expiresAt: Date | null; maxVisits: number | null; title: string | null; tags: readonly string[]; forwardQuery: boolean; rules: readonly RedirectRule[] | null; passwordHash: string | null },
): Promise<boolean> {
  const rows = await pgCall(
    node,
    (sql) => sql`
      insert into links (code, id, long_url, owner, alias, expires_at, max_visits, title, tags, forward_query, rules, password_hash)
      values (${link.code}, ${link.id.toString()}, ${link.longUrl}, ${link.owner}, ${link.alias}, ${link.expiresAt}, ${link.maxVisits}, ${link.title}, ${link.tags as string[]}::text[], ${link.forwardQuery}, ${rulesJson(link.rules)}::text::jsonb, ${link.passwordHash})
      on conflict do nothing returning 1`,
    { idempotent: true },
  );
  return rows.length === 1;
}

/** The link if `owner` owns it; another key's link is indistinguishable from a missing one. */
export async function findOwnedLink(node: PgNode, code: string, owner: string): Promise<StoredLink | null> {
  const rows = await pgCall(node, (sql) => sql<StoredRow[]>`select ${sql.unsafe(STORED)} from links where code = ${code} and owner = ${owner}`, { idempotent: true });
  return rows[0] ? stored(rows[0]) : null;
}

export interface LinkPatch {
  longUrl?: string;
  expiresAt?: Date | null;
  maxVisits?: number | null;
  title?: string | null;
  tags?: readonly string[];
  forwardQuery?: boolean;
  /** The new rules; null removes them. */
  rules?: readonly RedirectRule[] | null;
  /** A new password's hash; null removes the password. */
  passwordHash?: string | null;
}

/** Applies the patch if `owner` owns the link; the row after it, or null. */
export async function updateOwnedLink(node: PgNode, code: string, owner: string, patch: LinkPatch): Promise<{ before: StoredLink; after: StoredLink } | null> {
  const rows = await pgCall(
    node,
    (sql) => sql<(StoredRow & { old_url: string })[]>`
      update links l set
        long_url = ${patch.longUrl === undefined ? sql`l.long_url` : sql`${patch.longUrl}`},
        expires_at = ${patch.expiresAt === undefined ? sql`l.expires_at` : sql`${patch.expiresAt}`},
        max_visits = ${patch.maxVisits === undefined ? sql`l.max_visits` : sql`${patch.maxVisits}`},
        title = ${patch.title === undefined ? sql`l.title` : sql`${patch.title}`},
        tags = ${patch.tags === undefined ? sql`l.tags` : sql`${patch.tags as string[]}::text[]`},
        forward_query = ${patch.forwardQuery === undefined ? sql`l.forward_query` : sql`${patch.forwardQuery}`},
        rules = ${patch.rules === undefined ? sql`l.rules` : sql`${rulesJson(patch.rules)}::text::jsonb`},
        password_hash = ${patch.passwordHash === undefined ? sql`l.password_hash` : sql`${patch.passwordHash}`},
        updated_at = now()
      from links old where old.code = l.code and l.code = ${code} and l.owner = ${owner}
      returning l.code, (extract(epoch from l.created_at) * 1000000)::bigint::text as created_key, l.long_url, l.owner, l.alias, l.created_at, l.updated_at, l.expires_at, l.max_visits::text, l.visits::text, l.title, l.tags, l.forward_query, l.rules, l.password_hash, l.disabled_reason, l.disabled_at, old.long_url as old_url`,
    { idempotent: true },
  );
  const row = rows[0];
  return row ? { before: { ...stored(row), longUrl: row.old_url }, after: stored(row) } : null;
}

/** Deletes the link if `owner` owns it; the deleted row, or null. */
export async function deleteOwnedLink(node: PgNode, code: string, owner: string): Promise<StoredLink | null> {
  const rows = await pgCall(node, (sql) => sql<StoredRow[]>`delete from links where code = ${code} and owner = ${owner} returning ${sql.unsafe(STORED)}`, { idempotent: true });
  return rows[0] ? stored(rows[0]) : null;
}


/** Which of a key's links a list shows: a substring of code, title or long URL, and one tag. */
export interface LinkFilter {
  q?: string;
  tag?: string;
}

/** How many of a key's newest links (after the cursor) a filtered page looks through before it asks the filter's indexes. */
const PRESCAN = 5000;

/**
 * One shard's page of a key's links, newest first, strictly before `before` (createdKey, code),
 * matching `filter`. `before.createdKey` must be an integer string (the caller validates it).
 * Codes compare bytewise (COLLATE "C") on every shard, as the cross-shard merge compares them.
 *
 * A filtered page is asked in two ways, because PostgreSQL cannot tell how common a substring
 * is and picks one plan for both (bench/search.ts, 1M links of one key): a term in most links is
 * found at once by walking the newest links in order (6 ms), but through the trigram index every
 * match is fetched and sorted first (890 ms); a rare term or none is the other way round (0.2 ms
 * through the index, 390 ms walking). So the newest PRESCAN links are filtered first, which is
 * the whole answer when they hold a page of matches, and only otherwise the filter's indexes
 * are asked, sorted after (the order by an expression keeps the planner off the walk).
 */
export async function listOwnedLinks(node: PgNode, owner: string, before: { createdKey: string; code: string } | null, limit: number, filter: LinkFilter = {}): Promise<StoredLink[]> {
  const filtered = filter.q !== undefined || filter.tag !== undefined;
  const after = (sql: postgres.Sql) => (before === null ? sql`` : sql`and (created_at, code collate "C") < (timestamptz 'epoch' + ${before.createdKey}::bigint * interval '1 microsecond', ${before.code} collate "C")`);
  const matching = (sql: postgres.Sql) => sql`${filter.q === undefined ? sql`` : sql`and ${sql.unsafe(SEARCHED)} like ${containing(filter.q)}`} ${filter.tag === undefined ? sql`` : sql`and tags @> array[${filter.tag}]::text[]`}`;
  const newest = await pgCall(
    node,
    (sql) =>
      filtered
        ? sql<StoredRow[]>`
            select ${sql.unsafe(STORED)} from (select * from links where owner = ${owner} ${after(sql)} order by created_at desc, code collate "C" desc limit ${PRESCAN}) as newest
            where true ${matching(sql)} order by created_at desc, code collate "C" desc limit ${limit}`
        : sql<StoredRow[]>`select ${sql.unsafe(STORED)} from links where owner = ${owner} ${after(sql)} order by created_at desc, code collate "C" desc limit ${limit}`,
    { idempotent: true },
  );
  if (!filtered || newest.length === limit) return newest.map(stored);
  const indexed = await pgCall(
    node,
    (sql) => sql<StoredRow[]>`
      select ${sql.unsafe(STORED)} from links where owner = ${owner} ${after(sql)} ${matching(sql)}
      order by created_at + interval '0 seconds' desc, code collate "C" desc limit ${limit}`,
    { idempotent: true },
  );
  return indexed.map(stored);
}

/** A key's tags on one shard, with how many of its links carry each. */
export async function ownedTagCounts(node: PgNode, owner: string): Promise<Array<{ tag: string; links: number }>> {
  const rows = await pgCall(node, (sql) => sql<{ tag: string; links: string }[]>`select tag, count(*)::text as links from links, unnest(tags) as tag where owner = ${owner} group by tag`, { idempotent: true });
  return rows.map((r) => ({ tag: r.tag, links: Number(r.links) }));
}

/** An admin's switch: the link disabled with a reason, or enabled again (null), whoever owns it; the row after, or null. */
export async function setLinkDisabled(node: PgNode, code: string, reason: string | null): Promise<StoredLink | null> {
  const rows = await pgCall(
    node,
    (sql) => sql<StoredRow[]>`
      update links set disabled_reason = ${reason}, disabled_at = ${reason === null ? null : sql`now()`}, updated_at = now()
      where code = ${code} returning ${sql.unsafe(STORED)}`,
    { idempotent: true },
  );
  return rows[0] ? stored(rows[0]) : null;
}
