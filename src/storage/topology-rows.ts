import type { MigrationKind, Phase, TopologyState } from "../domain/topology";
import type { PgNode } from "./nodes";
import { pgCall } from "./nodes";

/**
 * SQL for the ring catalog (migrations/003_topology.sql) on shard 0's primary: the durable
 * topology row, each instance's acknowledged version, and the mover's checkpoints. PostgreSQL,
 * not Redis, so that losing a Redis node cannot lose or roll back the ring.
 */

interface TopologyRow {
  version: string;
  phase: Phase;
  members: number[];
  target: number[] | null;
  migration_id: string | null;
  kind: MigrationKind | null;
  report: Record<string, unknown>;
}

export interface StoredTopology {
  state: TopologyState;
  report: Record<string, unknown>;
}

export interface InstanceAck {
  instance: string;
  version: number;
  phase: string;
  error: string | null;
  live: boolean;
  ageMs: number;
}

export async function readTopology(node: PgNode): Promise<StoredTopology | null> {
  const rows = await pgCall(node, (sql) => sql<TopologyRow[]>`select version::text, phase, members, target, migration_id, kind, report from topology where id = 1`, { idempotent: true });
  return rows[0] ? fromRow(rows[0]) : null;
}

/** Writes the first ring (every configured shard) unless one exists; returns the stored one. */
export async function bootstrapTopology(node: PgNode, state: TopologyState): Promise<StoredTopology> {
  await pgCall(
    node,
    (sql) => sql`insert into topology (id, version, phase, members, target, migration_id, kind) values (1, ${state.version}, ${state.phase}, ${state.members}, ${state.target}, ${state.migrationId}, ${state.kind}) on conflict (id) do nothing`,
    { idempotent: true },
  );
  const stored = await readTopology(node);
  if (!stored) throw new Error("topology: bootstrap wrote no row");
  return stored;
}

/**
 * Compare-and-set: writes `next` only if the stored version is still `expected`, so two movers
 * (or a mover and an abort) cannot both advance the ring. False when someone else moved it.
 */
export async function replaceTopology(node: PgNode, expected: number, next: TopologyState, report?: Record<string, unknown>): Promise<boolean> {
  const rows = await pgCall(
    node,
    (sql) => sql`
      update topology set version = ${next.version}, phase = ${next.phase}, members = ${next.members}, target = ${next.target},
        migration_id = ${next.migrationId}, kind = ${next.kind}, report = coalesce(${report === undefined ? null : sql.json(report as never)}::jsonb, report), updated_at = now()
      where id = 1 and version = ${expected}
      returning version`,
    { idempotent: false },
  );
  return rows.length === 1;
}

export async function saveReport(node: PgNode, version: number, report: Record<string, unknown>): Promise<void> {
  await pgCall(node, (sql) => sql`update topology set report = ${sql.json(report as never)} where id = 1 and version = ${version}`, { idempotent: true });
}

/** An instance says which version it runs (and why it cannot run a newer one, if so). Also its heartbeat. */
export async function acknowledge(node: PgNode, ack: { instance: string; version: number; phase: string; error: string | null }): Promise<void> {
  await pgCall(
    node,
    (sql) => sql`
      insert into topology_acks (instance, version, phase, error, heartbeat_at) values (${ack.instance}, ${ack.version}, ${ack.phase}, ${ack.error}, now())
      on conflict (instance) do update set version = excluded.version, phase = excluded.phase, error = excluded.error, heartbeat_at = now()`,
    { idempotent: true },
  );
}

/** A gracefully stopping instance leaves, so the mover does not wait for it. */
export async function forgetInstance(node: PgNode, instance: string): Promise<void> {
  await pgCall(node, (sql) => sql`delete from topology_acks where instance = ${instance}`, { idempotent: true });
}

/** Every instance's ack; `live` when its heartbeat is younger than `liveMs` (by the catalog's clock). */
export async function listAcks(node: PgNode, liveMs: number): Promise<InstanceAck[]> {
  const rows = await pgCall(
    node,
    (sql) => sql<{ instance: string; version: string; phase: string; error: string | null; age_ms: number }[]>`
      select instance, version::text, phase, error, (extract(epoch from now() - heartbeat_at) * 1000)::float8 as age_ms
      from topology_acks order by instance`,
    { idempotent: true },
  );
  return rows.map((r) => ({ instance: r.instance, version: Number(r.version), phase: r.phase, error: r.error, ageMs: Math.round(r.age_ms), live: r.age_ms < liveMs }));
}

export interface Checkpoint {
  source: number;
  table: string;
  lastKey: Buffer | null;
  scanned: number;
  moved: number;
  total: number;
  done: boolean;
}

export async function loadCheckpoints(node: PgNode, migrationId: string, step: string): Promise<Checkpoint[]> {
  const rows = await pgCall(
    node,
    (sql) => sql<{ source: number; tbl: string; last_key: Buffer | null; scanned: string; moved: string; total: string; done: boolean }[]>`
      select source, tbl, last_key, scanned::text, moved::text, total::text, done from reshard_checkpoints where migration_id = ${migrationId} and step = ${step}`,
    { idempotent: true },
  );
  return rows.map((r) => ({ source: r.source, table: r.tbl, lastKey: r.last_key, scanned: Number(r.scanned), moved: Number(r.moved), total: Number(r.total), done: r.done }));
}

export async function saveCheckpoint(node: PgNode, migrationId: string, step: string, c: Checkpoint): Promise<void> {
  await pgCall(
    node,
    (sql) => sql`
      insert into reshard_checkpoints (migration_id, step, source, tbl, last_key, scanned, moved, total, done, updated_at)
      values (${migrationId}, ${step}, ${c.source}, ${c.table}, ${c.lastKey}, ${c.scanned}, ${c.moved}, ${c.total}, ${c.done}, now())
      on conflict (migration_id, step, source, tbl) do update set last_key = excluded.last_key, scanned = excluded.scanned,
        moved = excluded.moved, total = excluded.total, done = excluded.done, updated_at = now()`,
    { idempotent: true },
  );
}

function fromRow(row: TopologyRow): StoredTopology {
  return {
    state: { version: Number(row.version), phase: row.phase, members: row.members, target: row.target, migrationId: row.migration_id, kind: row.kind },
    report: row.report ?? {},
  };
}
