import type { PgNode } from "./nodes";
import { pgCall } from "./nodes";

import type { KeyScope } from "../domain/api-key";

/** SQL for api_keys on the catalog shard (shard 0). */

export interface KeyRow {
  id: string;
  name: string;
  scope: KeyScope;
  createdAt: Date;
  revokedAt: Date | null;
}

export async function insertKey(node: PgNode, key: { id: string; name: string; scope: KeyScope; hash: Buffer }): Promise<void> {
  await pgCall(node, (sql) => sql`insert into api_keys (id, name, scope, key_hash) values (${key.id}, ${key.name}, ${key.scope}, ${key.hash})`, { idempotent: false });
}

/** The key with this hash if it exists and is not revoked. */
export async function findActiveKey(node: PgNode, hash: Buffer): Promise<{ id: string; name: string; scope: KeyScope } | null> {
  const rows = await pgCall(node, (sql) => sql<{ id: string; name: string; scope: KeyScope }[]>`select id, name, scope from api_keys where key_hash = ${hash} and revoked_at is null`, { idempotent: true });
  return rows[0] ?? null;
}

export async function listKeys(node: PgNode): Promise<KeyRow[]> {
  const rows = await pgCall(node, (sql) => sql<{ id: string; name: string; scope: KeyScope; created_at: Date; revoked_at: Date | null }[]>`select id, name, scope, created_at, revoked_at from api_keys order by created_at`, { idempotent: true });
  return rows.map((r) => ({ id: r.id, name: r.name, scope: r.scope, createdAt: r.created_at, revokedAt: r.revoked_at }));
}

/** True when the key existed and was active. */
export async function revokeKey(node: PgNode, id: string): Promise<boolean> {
  const rows = await pgCall(node, (sql) => sql`update api_keys set revoked_at = now(), updated_at = now() where id = ${id} and revoked_at is null returning 1`, { idempotent: true });
  return rows.length === 1;
}

/** Ids of keys revoked after `since` (catalog clock), and the catalog's now, for the next call. */
export async function revokedSince(node: PgNode, since: Date | null): Promise<{ ids: string[]; now: Date }> {
  const rows = await pgCall(
    node,
    (sql) => sql<{ id: string | null; now: Date }[]>`
      select k.id, now() as now from (select 1) one
      left join api_keys k on k.revoked_at is not null and k.updated_at >= ${since ?? new Date(0)}`,
    { idempotent: true },
  );
  return { ids: rows.flatMap((r) => (r.id === null ? [] : [r.id])), now: rows[0]!.now };
}
