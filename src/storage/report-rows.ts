import type { PgNode } from "./nodes";
import { pgCall } from "./nodes";

/** Abuse reports on the catalog's primary (migrations/013). */
export interface StoredReport {
  id: string;
  code: string;
  reason: string;
  createdAt: Date;
}

export async function insertReport(catalog: PgNode, code: string, reason: string): Promise<void> {
  await pgCall(catalog, (sql) => sql`insert into link_reports (code, reason) values (${code}, ${reason})`, { idempotent: false });
}

/** The newest `limit` reports and how many there are in all. */
export async function newestReports(catalog: PgNode, limit: number): Promise<{ total: number; reports: StoredReport[] }> {
  const [rows, [count]] = await Promise.all([
    pgCall(catalog, (sql) => sql<Array<{ id: string; code: string; reason: string; created_at: Date }>>`select id::text, code, reason, created_at from link_reports order by created_at desc, id desc limit ${limit}`, { idempotent: true }),
    pgCall(catalog, (sql) => sql<Array<{ total: string }>>`select count(*)::text as total from link_reports`, { idempotent: true }),
  ]);
  return { total: Number(count?.total ?? 0), reports: rows.map((r) => ({ id: r.id, code: r.code, reason: r.reason, createdAt: r.created_at })) };
}
