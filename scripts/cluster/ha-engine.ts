import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import { asPgUser, chownToPgUser, run, runOk } from "./exec";
import { inNetns } from "./netns";
import { pgPidFromFile, signalServer } from "./postgres-node";
import { childrenOf, cmdline, isAlive, signal, waitForExit, waitUntil } from "./proc";
import type { ClusterState, NodeState } from "./state";

/**
 * pg_auto_failover (Debian `postgresql-15-auto-failover`, `pg-auto-failover-cli`) for the local
 * cluster: one monitor, one formation per shard (`shard<i>`), two keepers per formation. A
 * keeper (`pg_autoctl run`) supervises its PostgreSQL, and the monitor decides which node of a
 * formation is primary and promotes the standby when the primary is gone; synchronous
 * replication is the engine's default (`ANY 1 (standby)`, dropped while the standby is away).
 *
 * Each keeper runs in a session of its own, so its process group is the whole node: killing
 * the group is a node crash (pg_autoctl's `start/stop postgres` child, whose process title is
 * renamed, goes with it and cannot restart the old primary behind the monitor's back).
 */

/** Failover timings, tuned down from the engine's defaults (20 s unhealthy, 30 s demote) for a local cluster; see docs/failure.md. */
export const MONITOR_SETTINGS = {
  "pgautofailover.health_check_period": "1000",
  "pgautofailover.health_check_timeout": "1000",
  "pgautofailover.health_check_max_retries": "1",
  "pgautofailover.health_check_retry_delay": "500",
  "pgautofailover.node_considered_unhealthy_timeout": "2000",
  // Must exceed the keeper's network_partition_timeout: a cut-off primary demotes itself before
  // the monitor may promote its standby, so two primaries never accept writes at once.
  "pgautofailover.primary_demote_timeout": "5000",
} as const;

/** A keeper alone (monitor and standby both unreachable) demotes its primary after this many seconds. */
export const NETWORK_PARTITION_TIMEOUT_S = 3;

/**
 * The monitor as `from` reaches it: a keeper through the cluster's pooler when it has one, over
 * the bridge from a namespaced node, else on loopback.
 */
export const monitorUrl = (state: Pick<ClusterState, "monitor" | "network" | "pooler">, from?: NodeState) =>
  `postgres://autoctl_node@${from?.netns ? state.network!.gateway : "127.0.0.1"}:${from && state.pooler ? state.pooler.port : state.monitor!.port}/pg_auto_failover`;
export const formationOf = (shard: number) => `shard${shard}`;
export const keeperName = (node: NodeState) => `shard${node.shard}-${node.role === "primary" ? "a" : "b"}`;

/** pg_autoctl keeps its config and state under XDG dirs: per cluster, never the postgres user's home. */
function autoctlEnv(state: ClusterState): string[] {
  const home = join(state.nodesDir ?? state.dir, "autoctl");
  return [`PATH=${state.binaries.pgBin}:/usr/bin:/bin`, `XDG_CONFIG_HOME=${home}/config`, `XDG_DATA_HOME=${home}/data`, `XDG_RUNTIME_DIR=${home}/run`];
}

/** The keeper's own config and state folders for a node (pg_autoctl names them after PGDATA). */
export function keeperFolders(state: ClusterState, node: NodeState): string[] {
  const home = join(state.nodesDir ?? state.dir, "autoctl");
  return ["config", "data"].map((kind) => join(home, kind, "pg_autoctl", node.dataDir));
}

/** Has `pg_autoctl create` made this node's keeper (so `run` starts it)? */
export const keeperCreated = (state: ClusterState, node: NodeState) => existsSync(join(keeperFolders(state, node)[0]!, "pg_autoctl.cfg"));

export function autoctl(state: ClusterState, args: string[]): string[] {
  return asPgUser(["env", ...autoctlEnv(state), "pg_autoctl", ...args]);
}

/**
 * Starts a keeper in a new session (`setsid`), detached from us, logging to node.logFile, and
 * records its process group: `create` the first time (it initialises the node and keeps
 * running), `run` after that.
 */
export async function startKeeper(state: ClusterState, node: NodeState, create: string[] | null): Promise<void> {
  const home = join(state.nodesDir ?? state.dir, "autoctl");
  for (const d of ["config", "data", "run"]) mkdirSync(join(home, d), { recursive: true });
  mkdirSync(node.dir, { recursive: true });
  await chownToPgUser(home);
  await chownToPgUser(node.dir);
  const pidFile = join(node.dir, "keeper.pid");
  rmSync(pidFile, { force: true });
  const argv = autoctl(state, create ?? ["run", "--pgdata", node.dataDir]);
  const quoted = argv.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
  // `ip netns exec` keeps the PID (it execs), so $$ is still the session leader setsid made.
  await runOk(["setsid", "-f", ...inNetns(node, ["sh", "-c", `echo $$ > '${pidFile}'; exec ${quoted} >> '${node.logFile}' 2>&1 < /dev/null`])]);
  if (!(await waitUntil(() => existsSync(pidFile) && readFileSync(pidFile, "utf8").trim() !== "", 5000, 20))) throw new Error(`keeper for ${keeperName(node)} did not start; see ${node.logFile}`);
  node.pid = Number(readFileSync(pidFile, "utf8").trim());
}

/** Is `pid` the session leader of this node's keeper (not a recycled PID)? */
export function isKeeperOf(node: NodeState, pid: number | null | undefined): pid is number {
  return isAlive(pid) && sessionOf(pid!) === pid && treeMentions(pid!, node.dataDir);
}

function sessionOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[3]);
  } catch {
    return -1;
  }
}

/** runuser forks pg_autoctl, so the data dir is on the leader's command line or its child's. */
function treeMentions(pid: number, dataDir: string): boolean {
  return cmdline(pid).includes(dataDir) || childrenOf(pid).some((child) => cmdline(child).includes(dataDir));
}

/**
 * Stops a keeper and its PostgreSQL. kill: SIGKILL to the whole group and to the postmaster's
 * backends (they are sessions of their own), a crash of the node; otherwise `pg_autoctl stop`
 * (fast or immediate shutdown), escalating to kill if it hangs.
 */
export async function stopKeeper(state: ClusterState, node: NodeState, mode: "kill" | "immediate" | "graceful"): Promise<void> {
  const group = node.pid;
  if (group !== null && isAlive(group)) signal(-group, "SIGCONT");
  if (mode !== "kill" && group !== null && isAlive(group)) {
    await run(autoctl(state, ["stop", "--pgdata", node.dataDir, ...(mode === "immediate" ? ["--immediate"] : [])]), { timeoutMs: 30_000 });
    if (await waitForExit(group, 20_000)) return;
  }
  const postmaster = pgPidFromFile(node);
  // Frozen first, the keeper restarts nothing and the postmaster forks nothing; its children are
  // found while it is still their parent. Killed first, the postmaster's children (each in a
  // session of its own, out of reach of the group's signal) were re-parented before the scan
  // and missed, and one still attached to the old shared memory kept the node's next start from
  // starting (a CI run: `pg_ctl start` "could not start server").
  if (group !== null) signal(-group, "SIGSTOP");
  const family = postmaster === null ? [] : signalServer(postmaster, "SIGKILL");
  if (group !== null) signal(-group, "SIGKILL");
  if (group !== null) await waitForExit(group, 5000);
  // A start right after (outside the engine, or the keeper's) needs every old child gone: PostgreSQL
  // refuses to start while any process is still attached to the previous server's shared memory.
  if (!(await waitUntil(() => family.every((p) => !isAlive(p)), 5000, 20))) throw new Error(`${keeperName(node)}: postmaster ${postmaster} or a child of it survived SIGKILL`);
}

/** SIGSTOP / SIGCONT to the keeper's group and its PostgreSQL (backends included). */
export function signalKeeper(node: NodeState, sig: "SIGSTOP" | "SIGCONT"): void {
  if (node.pid === null || !isAlive(node.pid)) throw new Error(`${keeperName(node)} (port ${node.port}) is not running`);
  signal(-node.pid, sig);
  const postmaster = pgPidFromFile(node);
  if (postmaster !== null) for (const pid of childrenOf(postmaster)) signal(pid, sig);
}

export interface EngineNode {
  formation: string;
  name: string;
  port: number;
  reported: string;
  goal: string;
  /** `sync` when the node is in its formation's write quorum (a commit waits for it), else `async`. */
  replication: "sync" | "async";
  /** WAL bytes this node's last report was behind its formation's furthest node. */
  behindBytes: number;
  /** The monitor's last health check of the node succeeded (a standby is a failover candidate only then). */
  healthy: boolean;
}

/** Every keeper as the monitor sees it: its reported and goal state (`primary`, `secondary`, `wait_primary`, …). */
export async function engineNodes(state: ClusterState): Promise<EngineNode[]> {
  const sql = postgres(monitorUrl(state), { max: 1, connect_timeout: 2, onnotice: () => {} });
  try {
    const rows = await sql<Array<{ formationid: string; nodename: string; nodeport: number; reportedstate: string; goalstate: string; replicationquorum: boolean; behind: string; health: number }>>`
      select formationid, nodename, nodeport, reportedstate::text, goalstate::text, replicationquorum, health,
             pg_wal_lsn_diff(max(reportedlsn) over (partition by formationid), reportedlsn)::bigint::text as behind
        from pgautofailover.node order by formationid, nodeid`;
    return rows.map((r) => ({ formation: r.formationid, name: r.nodename, port: r.nodeport, reported: r.reportedstate, goal: r.goalstate, replication: r.replicationquorum ? "sync" : "async", behindBytes: Number(r.behind), healthy: r.health === 1 }));
  } finally {
    await sql.end({ timeout: 2 });
  }
}

/**
 * The monitor's latest events, newest first, as `at node: description` lines (of one shard's
 * formation when given), for a failure message; the monitor's own error as a line when it does
 * not answer.
 */
export async function engineEvents(state: ClusterState, limit: number, shard?: number): Promise<string[]> {
  const sql = postgres(monitorUrl(state), { max: 1, connect_timeout: 2, onnotice: () => {} });
  try {
    const formation = shard === undefined ? null : formationOf(shard);
    const rows = await sql<Array<{ at: string; node: string; description: string }>>`
      select eventtime::text as at, nodename as node, description from pgautofailover.event
       where ${formation}::text is null or formationid = ${formation} order by eventid desc limit ${limit}`;
    return rows.map((e) => `${e.at} ${e.node}: ${e.description}`);
  } catch (error) {
    return [`monitor: ${(error as Error).message}`];
  } finally {
    await sql.end({ timeout: 2 });
  }
}

/**
 * Which of a shard's two places (`primary` = its first keeper, `replica` = its second) holds the
 * primary now, as the monitor settled it; null while nobody does (mid-failover).
 * `wait_primary` is a primary whose standby is away; `single` one that never had one.
 */
export async function currentPrimary(state: ClusterState, shard: number): Promise<"primary" | "replica" | null> {
  const node = (await engineNodes(state)).find((n) => n.formation === formationOf(shard) && n.reported === n.goal && ["primary", "wait_primary", "single"].includes(n.reported));
  return node === undefined ? null : node.name.endsWith("-a") ? "primary" : "replica";
}

/** Waits until the monitor reports `want` (reported and goal state) for every named keeper. */
export async function waitForStates(state: ClusterState, want: Record<string, string[]>, timeoutMs: number, nudge?: () => Promise<void>): Promise<void> {
  let last: EngineNode[] = [];
  const ok = await waitUntil(async () => {
    last = await engineNodes(state).catch(() => last);
    const done = Object.entries(want).every(([name, states]) => last.some((n) => n.name === name && n.reported === n.goal && states.includes(n.reported)));
    if (!done) await nudge?.().catch(() => {});
    return done;
  }, timeoutMs, 400);
  if (!ok) {
    const seen = last.map((n) => `${n.name}: ${n.reported} -> ${n.goal}`).join(", ") || "no keeper registered";
    throw new Error(`pg_auto_failover did not reach ${JSON.stringify(want)} in ${timeoutMs} ms (monitor: ${seen}); logs: ${Object.keys(want).join(", ")} under ${state.nodesDir ?? state.dir}`);
  }
}
