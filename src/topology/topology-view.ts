import type { TopologyState } from "../domain/topology";
import type { Checkpoint, InstanceAck } from "../storage/topology-rows";

export interface ProgressEntry {
  step: string;
  source: number;
  table: string;
  scanned: number;
  total: number;
  moved: number;
  rows_per_s: number | null;
  eta_s: number | null;
  done: boolean;
}

/**
 * What GET /api/topology answers and the `topology` WebSocket topic carries (`kind: "topology"`
 * added on the stream): the ring, the migration, each instance's acknowledged version and the
 * mover's progress and reports. One shape, built here, so the dashboard renders only this.
 */
export interface TopologyView {
  version: number;
  phase: TopologyState["phase"];
  members: number[];
  target: number[] | null;
  migration: { id: string; kind: string } | null;
  instances: Array<{ instance: string; version: number; phase: string; live: boolean; error: string | null; age_ms: number }>;
  progress: ProgressEntry[];
  verify: unknown;
  cleanup: unknown;
}

export function topologyView(state: TopologyState, acks: readonly InstanceAck[], progress: readonly ProgressEntry[], report: Record<string, unknown>): TopologyView {
  return {
    version: state.version,
    phase: state.phase,
    members: state.members,
    target: state.target,
    migration: state.migrationId && state.kind ? { id: state.migrationId, kind: state.kind } : null,
    instances: acks.map((a) => ({ instance: a.instance, version: a.version, phase: a.phase, live: a.live, error: a.error, age_ms: a.ageMs })),
    progress: [...progress],
    verify: report.verify ?? null,
    cleanup: report.cleanup ?? null,
  };
}

/** Progress from stored checkpoints (no live rate: that only the running mover knows). */
export function progressFromCheckpoints(step: string, checkpoints: readonly Checkpoint[]): ProgressEntry[] {
  return checkpoints.map((c) => ({ step, source: c.source, table: c.table, scanned: c.scanned, total: c.total, moved: c.moved, rows_per_s: null, eta_s: null, done: c.done }));
}
