import { linkKey, urlKey } from "./redis-keys";
import type { PgNode } from "./nodes";
import { pgCall } from "./nodes";
import { deleteRollupRows, findRollupRows, insertRollupRows, ROLLUP_TABLES, scanRollupRows, type RollupTable } from "./reshard-rollup-rows";

/**
 * The rows a re-sharding moves, as plain values, and the SQL to scan, copy, compare and remove
 * them (the analytics tables' in reshard-rollup-rows.ts). Every table is keyed for keyset scans
 * (links by code, url_index by url_hash, click rows by their whole key) and every
 * write is idempotent (ON CONFLICT DO NOTHING, DELETE by key), so a batch interrupted at any
 * point can simply be run again.
 */
export type MovableTable = "links" | "url_index" | "link_clicks" | RollupTable;
export const MOVABLE_TABLES: readonly MovableTable[] = ["links", "url_index", "link_clicks", ...ROLLUP_TABLES];
const isRollup = (table: MovableTable): table is RollupTable => (ROLLUP_TABLES as readonly string[]).includes(table);

export interface MovableRow {
  /** The table's primary key as bytes: the keyset position and the checkpoint. */
  key: Buffer;
  /** What the ring places: the code for links, the long URL for url_index. */
  ringKey: string;
  /** What must be equal on both sides for the copy to count as faithful. */
  fingerprint: string;
  /** The Redis key that caches this row on its shard, if any. */
  cacheKey: string | null;
  values: Record<string, unknown>;
}

/**
 * Every column of a link, timestamps as integer microseconds since the epoch (text): a
 * timestamptz read into a JS Date loses its microseconds, and the list's keyset needs them
 * exact on the new owner too. Text of the timestamps themselves would depend on each server's
 * TimeZone, and the fingerprint must match across servers.
 */
interface LinkRow {
  code: string;
  id: string;
  long_url: string;
  owner: string | null;
  alias: boolean;
  created_us: string;
  updated_us: string;
  expires_us: string | null;
  max_visits: string | null;
  visits: string;
  title: string | null;
  /** Comma-joined (a tag has no comma): one text per row through unnest. */
  tags: string;
  forward_query: boolean;
  /** jsonb as PostgreSQL prints it (a canonical text, so the fingerprint is stable). */
  rules: string | null;
  password_hash: string | null;
  disabled_reason: string | null;
  disabled_us: string | null;
}

interface ClickRow {
  code: string;
  hour: Date;
  instance: string;
  home: number;
  epoch: string;
  clicks: string;
  humans: string;
  bots: string;
}

interface UrlIndexRow {
  url_hash: Buffer;
  long_url: string;
  code: string;
  created_us: string;
}

const US = (column: string) => `(extract(epoch from ${column}) * 1000000)::bigint::text`;
const LINK_COLUMNS = `code, id::text, long_url, owner, alias, ${US("created_at")} as created_us, ${US("updated_at")} as updated_us, ${US("expires_at")} as expires_us, max_visits::text, visits::text, title, array_to_string(tags, ',') as tags, forward_query, rules::text as rules, password_hash, disabled_reason, ${US("disabled_at")} as disabled_us`;
const URL_INDEX_COLUMNS = `url_hash, long_url, code, ${US("created_at")} as created_us`;

// Visits and updated_at are left out: they change while a link is served, on whichever owner serves it.
function linkRow(r: LinkRow): MovableRow {
  const fingerprint = [r.code, r.id, r.long_url, r.owner ?? "", r.alias, r.created_us, r.expires_us ?? "", r.max_visits ?? "", r.title ?? "", r.tags, r.forward_query, r.rules ?? "", r.password_hash ?? "", r.disabled_reason ?? ""].join("\u0000");
  return { key: Buffer.from(r.code), ringKey: r.code, fingerprint, cacheKey: linkKey(r.code), values: { ...r } };
}

// The code is left out of the fingerprint: if two racing creates claimed one URL on both rings
// while instances switched phase, the new owner's claim wins and the old code still resolves.
function urlIndexRow(r: UrlIndexRow): MovableRow {
  const hex = r.url_hash.toString("hex");
  return { key: r.url_hash, ringKey: r.long_url, fingerprint: `${hex}\u0000${r.long_url}`, cacheKey: urlKey(hex), values: { ...r } };
}

// A click row only ever grows (flushes add to it), so the larger count is the newer one: a copy
// that meets a row already there keeps the larger count, which is idempotent and never loses a
// flush that reached the old owner after the row was first copied.
function clickRow(r: ClickRow): MovableRow {
  const key = JSON.stringify([r.code, r.hour.toISOString(), r.instance, r.home, r.epoch]);
  return { key: Buffer.from(key), ringKey: r.code, fingerprint: `${key}\u0000${r.clicks}\u0000${r.humans}\u0000${r.bots}`, cacheKey: null, values: { ...r } };
}

function clickKeys(keys: readonly Buffer[]) {
  const parts = keys.map((k) => JSON.parse(k.toString()) as [string, string, string, number, string]);
  return { codes: parts.map((p) => p[0]), hours: parts.map((p) => p[1]), instances: parts.map((p) => p[2]), homes: parts.map((p) => p[3]), epochs: parts.map((p) => p[4]) };
}

/** Up to `limit` rows after `after` (null: from the start), in key order. */
export async function scanRows(node: PgNode, table: MovableTable, after: Buffer | null, limit: number): Promise<MovableRow[]> {
  if (isRollup(table)) return scanRollupRows(node, table, after, limit);
  if (table === "links") {
    const from = after === null ? null : after.toString();
    const rows = await pgCall(
      node,
      (sql) => sql<LinkRow[]>`select ${sql.unsafe(LINK_COLUMNS)} from links where ${from === null ? sql`true` : sql`code > ${from}`} order by code limit ${limit}`,
      { idempotent: true },
    );
    return rows.map(linkRow);
  }
  if (table === "link_clicks") {
    const from = after === null ? null : clickKeys([after]);
    const rows = await pgCall(
      node,
      (sql) => sql<ClickRow[]>`
        select code, hour, instance, home, epoch::text, clicks::text, humans::text, bots::text from link_clicks
        where ${from === null ? sql`true` : sql`(code, hour, instance, home, epoch) > (${from.codes[0]!}, ${from.hours[0]!}::timestamptz, ${from.instances[0]!}, ${from.homes[0]!}, ${from.epochs[0]!}::bigint)`}
        order by code, hour, instance, home, epoch limit ${limit}`,
      { idempotent: true },
    );
    return rows.map(clickRow);
  }
  const rows = await pgCall(
    node,
    (sql) => sql<UrlIndexRow[]>`select ${sql.unsafe(URL_INDEX_COLUMNS)} from url_index where ${after === null ? sql`true` : sql`url_hash > ${after}`} order by url_hash limit ${limit}`,
    { idempotent: true },
  );
  return rows.map(urlIndexRow);
}

export async function countRows(node: PgNode, table: MovableTable): Promise<number> {
  const rows = await pgCall(node, (sql) => sql<{ n: string }[]>`select count(*)::text as n from ${sql(table)}`, { idempotent: true });
  return Number(rows[0]?.n ?? 0);
}

/** Inserts rows that are not there yet; returns how many were new. */
export async function insertRows(node: PgNode, table: MovableTable, rows: readonly MovableRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  if (isRollup(table)) return insertRollupRows(node, table, rows);
  const values = rows.map((r) => r.values);
  if (table === "link_clicks") {
    const inserted = await pgCall(
      node,
      (sql) => sql`
        insert into link_clicks ${sql(values as never, "code", "hour", "instance", "home", "epoch", "clicks", "humans", "bots")}
        on conflict (code, hour, instance, home, epoch) do update
          set clicks = greatest(link_clicks.clicks, excluded.clicks), humans = greatest(link_clicks.humans, excluded.humans), bots = greatest(link_clicks.bots, excluded.bots)
        where link_clicks.clicks < excluded.clicks or link_clicks.humans < excluded.humans or link_clicks.bots < excluded.bots
        returning 1`,
      { idempotent: true },
    );
    return inserted.length;
  }
  const at = (column: string) => `case when ${column} is null then null else timestamptz 'epoch' + ${column}::bigint * interval '1 microsecond' end`;
  if (table === "links") {
    const r = values as unknown as LinkRow[];
    const inserted = await pgCall(
      node,
      (sql) => sql`
        insert into links (code, id, long_url, owner, alias, created_at, updated_at, expires_at, max_visits, visits, title, tags, forward_query, rules, password_hash, disabled_reason, disabled_at)
        select c, i::bigint, u, o, a::boolean, ${sql.unsafe(at("cr"))}, ${sql.unsafe(at("up"))}, ${sql.unsafe(at("ex"))}, mv::bigint, v::bigint, ti, coalesce(string_to_array(nullif(tg, ''), ','), '{}'), fq::boolean, ru::jsonb, ph, dr, ${sql.unsafe(at("da"))}
        from unnest(${r.map((x) => x.code)}::text[], ${r.map((x) => x.id)}::text[], ${r.map((x) => x.long_url)}::text[], ${r.map((x) => x.owner)}::text[], ${r.map((x) => String(x.alias))}::text[],
                    ${r.map((x) => x.created_us)}::text[], ${r.map((x) => x.updated_us)}::text[], ${r.map((x) => x.expires_us)}::text[], ${r.map((x) => x.max_visits)}::text[], ${r.map((x) => x.visits)}::text[],
                    ${r.map((x) => x.title)}::text[], ${r.map((x) => x.tags)}::text[], ${r.map((x) => String(x.forward_query))}::text[], ${r.map((x) => x.rules)}::text[], ${r.map((x) => x.password_hash)}::text[],
                    ${r.map((x) => x.disabled_reason)}::text[], ${r.map((x) => x.disabled_us)}::text[])
          as t(c, i, u, o, a, cr, up, ex, mv, v, ti, tg, fq, ru, ph, dr, da)
        on conflict do nothing returning 1`,
      { idempotent: true },
    );
    return inserted.length;
  }
  const r = values as unknown as UrlIndexRow[];
  const inserted = await pgCall(
    node,
    (sql) => sql`
      insert into url_index (url_hash, long_url, code, created_at)
      select decode(h, 'hex'), u, c, ${sql.unsafe(at("cr"))}
      from unnest(${r.map((x) => x.url_hash.toString("hex"))}::text[], ${r.map((x) => x.long_url)}::text[], ${r.map((x) => x.code)}::text[], ${r.map((x) => x.created_us)}::text[]) as t(h, u, c, cr)
      on conflict do nothing returning 1`,
    { idempotent: true },
  );
  return inserted.length;
}

/** The rows among `keys` that exist on `node`. */
export async function findRows(node: PgNode, table: MovableTable, keys: readonly Buffer[]): Promise<MovableRow[]> {
  if (keys.length === 0) return [];
  if (isRollup(table)) return findRollupRows(node, table, keys);
  if (table === "links") {
    const codes = keys.map((k) => k.toString());
    const rows = await pgCall(node, (sql) => sql<LinkRow[]>`select ${sql.unsafe(LINK_COLUMNS)} from links where code = any(${codes})`, { idempotent: true });
    return rows.map(linkRow);
  }
  if (table === "link_clicks") {
    const k = clickKeys(keys);
    const rows = await pgCall(
      node,
      (sql) => sql<ClickRow[]>`
        select code, hour, instance, home, epoch::text, clicks::text, humans::text, bots::text from link_clicks
        where (code, hour, instance, home, epoch) in (select * from unnest(${k.codes}::text[], ${k.hours}::timestamptz[], ${k.instances}::text[], ${k.homes}::int[], ${k.epochs}::bigint[]))`,
      { idempotent: true },
    );
    return rows.map(clickRow);
  }
  const hexes = keys.map((k) => k.toString("hex"));
  const rows = await pgCall(
    node,
    (sql) => sql<UrlIndexRow[]>`select ${sql.unsafe(URL_INDEX_COLUMNS)} from url_index where url_hash = any(select decode(h, 'hex') from unnest(${hexes}::text[]) h)`,
    { idempotent: true },
  );
  return rows.map(urlIndexRow);
}

export async function deleteRows(node: PgNode, table: MovableTable, keys: readonly Buffer[]): Promise<number> {
  if (keys.length === 0) return 0;
  if (isRollup(table)) return deleteRollupRows(node, table, keys);
  if (table === "links") {
    const codes = keys.map((k) => k.toString());
    return (await pgCall(node, (sql) => sql`delete from links where code = any(${codes}) returning 1`, { idempotent: true })).length;
  }
  if (table === "link_clicks") {
    const k = clickKeys(keys);
    return (
      await pgCall(
        node,
        (sql) => sql`
          delete from link_clicks where (code, hour, instance, home, epoch) in (select * from unnest(${k.codes}::text[], ${k.hours}::timestamptz[], ${k.instances}::text[], ${k.homes}::int[], ${k.epochs}::bigint[]))
          returning 1`,
        { idempotent: true },
      )
    ).length;
  }
  const hexes = keys.map((k) => k.toString("hex"));
  return (await pgCall(node, (sql) => sql`delete from url_index where url_hash = any(select decode(h, 'hex') from unnest(${hexes}::text[]) h) returning 1`, { idempotent: true })).length;
}
