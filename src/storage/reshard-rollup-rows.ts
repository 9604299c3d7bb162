import type { PgNode } from "./nodes";
import { pgCall } from "./nodes";
import type { MovableRow } from "./reshard-rows";

/**
 * The click analytics tables a re-sharding moves: breakdown rows and visitor sketches. Both are
 * keyed by (code, hour, home, epoch, …), so a copied row never meets a row flushed elsewhere, and
 * both only ever grow: a copy that meets its own earlier copy keeps the larger counts, or the
 * union of the sketches, which is idempotent and never loses a flush that reached the old owner
 * after the first copy. Rows are carried as text (hour in microseconds), so a fingerprint reads
 * the same on every server.
 */
export type RollupTable = "link_click_dims" | "link_visitors";

interface Column {
  name: string;
  type: string;
}

interface TableShape {
  key: Column[];
  values: Column[];
  /** How a copied value merges into one already there. */
  merge: (table: string, column: string) => string;
}

const TEXT = (c: Column) => (c.type === "timestamptz" ? `(extract(epoch from ${c.name}) * 1000000)::bigint::text` : `${c.name}::text`);
const FROM_TEXT = (c: Column, value: string) => (c.type === "timestamptz" ? `timestamptz 'epoch' + ${value}::bigint * interval '1 microsecond'` : `${value}::${c.type}`);

const SHAPES: Record<RollupTable, TableShape> = {
  link_click_dims: {
    key: [
      { name: "code", type: "text" },
      { name: "hour", type: "timestamptz" },
      { name: "home", type: "int" },
      { name: "epoch", type: "bigint" },
      { name: "dimension", type: "text" },
      { name: "value", type: "text" },
    ],
    values: [
      { name: "clicks", type: "bigint" },
      { name: "humans", type: "bigint" },
    ],
    merge: (table, column) => `greatest(${table}.${column}, excluded.${column})`,
  },
  link_visitors: {
    key: [
      { name: "code", type: "text" },
      { name: "hour", type: "timestamptz" },
      { name: "home", type: "int" },
      { name: "epoch", type: "bigint" },
    ],
    values: [{ name: "visitors", type: "hll" }],
    merge: (table, column) => `hll_union(${table}.${column}, excluded.${column})`,
  },
};

const columnsOf = (shape: TableShape) => [...shape.key, ...shape.values];
const selectList = (shape: TableShape) => columnsOf(shape).map((c) => `${TEXT(c)} as ${c.name}`).join(", ");

function toRow(shape: TableShape, r: Record<string, string>): MovableRow {
  const keyParts = shape.key.map((c) => r[c.name]!);
  const key = JSON.stringify(keyParts);
  return { key: Buffer.from(key), ringKey: r.code!, fingerprint: [key, ...shape.values.map((c) => r[c.name])].join("\u0000"), cacheKey: null, values: { ...r } };
}

/** The key columns as text arrays, for `unnest`. */
function keyArrays(shape: TableShape, keys: readonly Buffer[]): string[][] {
  const parts = keys.map((k) => JSON.parse(k.toString()) as string[]);
  return shape.key.map((_, i) => parts.map((p) => p[i]!));
}

const keyTuple = (shape: TableShape) => `(${shape.key.map((c) => c.name).join(", ")})`;
const unnestKeys = (shape: TableShape) => `select ${shape.key.map((c, i) => FROM_TEXT(c, `k${i}`)).join(", ")} from unnest(${shape.key.map((_, i) => `$${i + 1}::text[]`).join(", ")}) as t(${shape.key.map((_, i) => `k${i}`).join(", ")})`;

export async function scanRollupRows(node: PgNode, table: RollupTable, after: Buffer | null, limit: number): Promise<MovableRow[]> {
  const shape = SHAPES[table];
  const from = after === null ? null : (JSON.parse(after.toString()) as string[]);
  const where = from === null ? "true" : `${keyTuple(shape)} > (${shape.key.map((c, i) => FROM_TEXT(c, `$${i + 1}`)).join(", ")})`;
  const order = shape.key.map((c) => c.name).join(", ");
  const params = [...(from ?? []), limit];
  const rows = await pgCall(node, (sql) => sql.unsafe<Record<string, string>[]>(`select ${selectList(shape)} from ${table} where ${where} order by ${order} limit $${params.length}`, params as never), { idempotent: true });
  return rows.map((r) => toRow(shape, r));
}

export async function insertRollupRows(node: PgNode, table: RollupTable, rows: readonly MovableRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  const shape = SHAPES[table];
  const columns = columnsOf(shape);
  const arrays = columns.map((c) => rows.map((r) => String(r.values[c.name])));
  const text = `
    insert into ${table} (${columns.map((c) => c.name).join(", ")})
    select ${columns.map((c, i) => FROM_TEXT(c, `v${i}`)).join(", ")} from unnest(${columns.map((_, i) => `$${i + 1}::text[]`).join(", ")}) as t(${columns.map((_, i) => `v${i}`).join(", ")})
    on conflict ${keyTuple(shape)} do update set ${shape.values.map((c) => `${c.name} = ${shape.merge(table, c.name)}`).join(", ")}
    where ${shape.values.map((c) => `${table}.${c.name} is distinct from ${shape.merge(table, c.name)}`).join(" or ")}
    returning 1`;
  return (await pgCall(node, (sql) => sql.unsafe(text, arrays as never), { idempotent: true })).length;
}

export async function findRollupRows(node: PgNode, table: RollupTable, keys: readonly Buffer[]): Promise<MovableRow[]> {
  if (keys.length === 0) return [];
  const shape = SHAPES[table];
  const rows = await pgCall(node, (sql) => sql.unsafe<Record<string, string>[]>(`select ${selectList(shape)} from ${table} where ${keyTuple(shape)} in (${unnestKeys(shape)})`, keyArrays(shape, keys) as never), { idempotent: true });
  return rows.map((r) => toRow(shape, r));
}

export async function deleteRollupRows(node: PgNode, table: RollupTable, keys: readonly Buffer[]): Promise<number> {
  if (keys.length === 0) return 0;
  const shape = SHAPES[table];
  return (await pgCall(node, (sql) => sql.unsafe(`delete from ${table} where ${keyTuple(shape)} in (${unnestKeys(shape)}) returning 1`, keyArrays(shape, keys) as never), { idempotent: true })).length;
}

export const ROLLUP_TABLES: readonly RollupTable[] = ["link_click_dims", "link_visitors"];
