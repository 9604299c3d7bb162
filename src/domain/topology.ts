import { DEFAULT_VNODES, HashRing } from "./ring";

/**
 * The ring as versioned data, and the rules of moving from one ring to another online. Pure:
 * the catalog (storage/topology-rows.ts) stores a TopologyState, instances route by
 * `routingFor(state)`, and the mover walks the phases with `advance`.
 *
 *   stable ─ prepare ─ dual ─ copy ─ verify ─ switch ─ cleanup ─ stable
 *
 * Every phase change bumps the version, and the mover enters a phase only after every live
 * instance has acknowledged the previous one, so at any moment instances run at most two
 * adjacent phases. Each adjacent pair is safe together: the read rings of both phases cover
 * wherever either phase's writes went.
 */
export const PHASES = ["stable", "prepare", "dual", "copy", "verify", "switch", "cleanup"] as const;
export type Phase = (typeof PHASES)[number];
export type MigrationKind = "add" | "drain" | "abort";

export interface TopologyState {
  version: number;
  phase: Phase;
  /** The ring in force before the change (the only ring when stable). */
  members: number[];
  /** The ring being moved to; null when stable. */
  target: number[] | null;
  migrationId: string | null;
  kind: MigrationKind | null;
}

/**
 * How one instance routes under a state. `read` is asked first; on a miss or a failure there,
 * `fallback` (when set and a different shard) is asked before answering 404.
 */
export interface Routing {
  version: number;
  phase: Phase;
  write: HashRing;
  read: HashRing;
  fallback: HashRing | null;
}

/** The shards that may hold a code under a routing, read owner first: one, or two mid-move. */
export function ownersOf(routing: Pick<Routing, "read" | "fallback">, code: string): number[] {
  const read = routing.read.shardFor(code);
  const fallback = routing.fallback?.shardFor(code);
  return fallback === undefined || fallback === read ? [read] : [read, fallback];
}

/** Every shard that may hold some code under a routing (the read ring's members and the fallback's). */
export function shardsToScan(routing: Pick<Routing, "read" | "fallback">): number[] {
  return [...new Set([...routing.read.members, ...(routing.fallback?.members ?? [])])];
}

export class TopologyError extends Error {
  override readonly name = "TopologyError";
}

export function stableState(members: readonly number[], version = 1): TopologyState {
  return { version, phase: "stable", members: sorted(members), target: null, migrationId: null, kind: null };
}

/**
 * prepare: writes still use the old ring, but reads fall back to the new one, because an
 * instance that already runs `dual` writes there. dual/copy/verify: writes and first reads on
 * the new ring, the old ring as fallback (rows not copied yet). switch/cleanup: the new ring
 * alone; verify proved every moved row is there.
 */
export function routingFor(state: TopologyState, vnodes = DEFAULT_VNODES): Routing {
  const old = ring(state.members, vnodes);
  const next = state.target ? ring(state.target, vnodes) : null;
  const base = { version: state.version, phase: state.phase };
  switch (state.phase) {
    case "stable":
      return { ...base, write: old, read: old, fallback: null };
    case "prepare":
      return { ...base, write: old, read: old, fallback: next };
    case "dual":
    case "copy":
    case "verify":
      return { ...base, write: need(next, state), read: need(next, state), fallback: old };
    case "switch":
    case "cleanup":
      return { ...base, write: need(next, state), read: need(next, state), fallback: null };
  }
}

/** Every shard an instance must be able to reach to run this state. */
export function shardsInUse(state: TopologyState): number[] {
  return sorted([...state.members, ...(state.target ?? [])]);
}

/** The target ring of `add`: the current members plus every configured shard not in the ring. */
export function planAdd(members: readonly number[], configuredShards: number): number[] {
  const extra = Array.from({ length: configuredShards }, (_, i) => i).filter((i) => !members.includes(i));
  if (extra.length === 0) {
    throw new TopologyError(`every configured shard (0..${configuredShards - 1}) is already in the ring; list the new shard's nodes in DATABASE_NODES and REDIS_NODES first`);
  }
  return sorted([...members, ...extra]);
}

/**
 * The target ring of `drain shard`. Shard 0 holds the catalog (this state), so it stays.
 */
export function planDrain(members: readonly number[], shard: number): number[] {
  if (!members.includes(shard)) throw new TopologyError(`shard ${shard} is not in the ring (members: ${members.join(", ")})`);
  if (shard === 0) throw new TopologyError("shard 0 holds the ring catalog and cannot be drained");
  if (members.length === 1) throw new TopologyError("the last shard cannot be drained");
  return members.filter((m) => m !== shard);
}

export function beginMigration(state: TopologyState, kind: "add" | "drain", target: readonly number[], migrationId: string): TopologyState {
  if (state.phase !== "stable") throw new TopologyError(`a ${state.kind} migration (${state.migrationId}) is in phase ${state.phase}; resume or abort it first`);
  return { version: state.version + 1, phase: "prepare", members: state.members, target: sorted(target), migrationId, kind };
}

/** The next phase; after cleanup the target becomes the only ring. */
export function advance(state: TopologyState): TopologyState {
  const version = state.version + 1;
  if (state.phase === "stable") throw new TopologyError("no migration to advance");
  if (state.phase === "cleanup") return stableState(need(state.target, state), version);
  const next = PHASES[PHASES.indexOf(state.phase) + 1]!;
  return { ...state, version, phase: next };
}

/**
 * Going back before the switch. From prepare nothing was written under the new ring, so the old
 * ring simply returns. From dual/copy/verify, new links already live on new-ring owners, so the
 * way back is the same migration in reverse (the Vitess reverse workflow): dual with the rings
 * swapped, copy back, verify, switch, cleanup.
 */
export function abort(state: TopologyState): TopologyState {
  const version = state.version + 1;
  switch (state.phase) {
    case "stable":
      throw new TopologyError("no migration to abort");
    case "prepare":
      return stableState(state.members, version);
    case "dual":
    case "copy":
    case "verify":
      return { version, phase: "dual", members: need(state.target, state), target: state.members, migrationId: `${state.migrationId}-abort`, kind: "abort" };
    case "switch":
    case "cleanup":
      throw new TopologyError(`migration ${state.migrationId} is past the switch (phase ${state.phase}); let it finish, then run the opposite change`);
  }
}

function ring(members: readonly number[], vnodes: number): HashRing {
  return new HashRing(members, vnodes);
}

function need<T>(value: T | null, state: TopologyState): T {
  if (value === null) throw new TopologyError(`topology v${state.version} in phase ${state.phase} has no target ring`);
  return value;
}

function sorted(list: readonly number[]): number[] {
  return [...new Set(list)].sort((a, b) => a - b);
}
