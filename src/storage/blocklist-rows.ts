import type { PgNode } from "./nodes";
import { pgCall } from "./nodes";

/**
 * The blocklist's catalog entries (migrations/015). Each change bumps blocklist_version in the
 * statement that makes it (data-modifying CTEs run in the statement's one transaction), and only
 * when a row was really added or removed, so instances that poll the version reload exactly when
 * the list changed. One statement rather than `sql.begin` keeps the call under pgCall's deadline
 * and cancellation.
 */
export interface BlockedHost {
  host: string;
  addedAt: Date;
  note: string | null;
}

/** The list's version, as text (a bigint). Read it before the list: a change in between is then seen twice, never missed. */
export async function blocklistVersion(catalog: PgNode): Promise<string> {
  const [row] = await pgCall(catalog, (sql) => sql<Array<{ version: string }>>`select version::text as version from blocklist_version`, { idempotent: true });
  return row?.version ?? "0";
}

export async function blockedHosts(catalog: PgNode): Promise<BlockedHost[]> {
  const rows = await pgCall(catalog, (sql) => sql<Array<{ host: string; added_at: Date; note: string | null }>>`select host, added_at, note from blocked_hosts order by host`, { idempotent: true });
  return rows.map((r) => ({ host: r.host, addedAt: r.added_at, note: r.note }));
}

/** Whether `host` was new (false: it was already there, and its note is left as it was). */
export async function addBlockedHost(catalog: PgNode, host: string, note: string | null): Promise<boolean> {
  const [row] = await pgCall(
    catalog,
    (sql) => sql<Array<{ added: boolean }>>`
      with added as (insert into blocked_hosts (host, note) values (${host}, ${note}) on conflict do nothing returning 1),
      bumped as (update blocklist_version set version = version + 1 where exists (select 1 from added) returning 1)
      select exists (select 1 from added) as added`,
    { idempotent: false },
  );
  return row?.added === true;
}

/** Whether `host` was there to remove. */
export async function removeBlockedHost(catalog: PgNode, host: string): Promise<boolean> {
  const [row] = await pgCall(
    catalog,
    (sql) => sql<Array<{ removed: boolean }>>`
      with removed as (delete from blocked_hosts where host = ${host} returning 1),
      bumped as (update blocklist_version set version = version + 1 where exists (select 1 from removed) returning 1)
      select exists (select 1 from removed) as removed`,
    { idempotent: false },
  );
  return row?.removed === true;
}
