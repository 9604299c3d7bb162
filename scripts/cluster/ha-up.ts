import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import { autoctl, formationOf, isKeeperOf, keeperName, monitorUrl, MONITOR_SETTINGS, NETWORK_PARTITION_TIMEOUT_S, startKeeper, waitForStates } from "./ha-engine";
import { runOk } from "./exec";
import { isInitialised } from "./postgres-node";
import { portFree, waitUntil } from "./proc";
import { findNode, writeState, type ClusterState, type NodeState } from "./state";

/**
 * `up` for a cluster under pg_auto_failover: the monitor, then per shard its formation, the
 * first keeper (initdb, registered as primary), the schema, and the second keeper (a
 * pg_basebackup of the first, registered as its synchronous standby). A node already created
 * is only started again (`pg_autoctl run`); which of the two is primary is the engine's to say.
 */
export async function ensureMonitor(state: ClusterState, log: (l: string) => void): Promise<void> {
  const monitor = state.monitor!;
  const version = /\/postgresql\/([\d.]+)\/bin$/.exec(state.binaries.pgBin)?.[1] ?? "15";
  if (!Bun.which("pg_autoctl") || !existsSync(`/usr/share/postgresql/${version}/extension/pgautofailover.control`)) {
    throw new Error(`--ha needs pg_auto_failover: apt-get install pg-auto-failover-cli postgresql-${version}-auto-failover`);
  }
  const fresh = !isInitialised(monitor);
  if (await startIfDown(state, monitor, log, ["create", "monitor", "--pgdata", monitor.dataDir, "--pgport", String(monitor.port), "--hostname", "127.0.0.1", "--auth", "trust", "--no-ssl", "--run"])) {
    if (!(await waitUntil(() => query(monitorUrl(state), (sql) => sql`select 1`).catch(() => false), 60_000, 100))) throw new Error(`monitor :${monitor.port} did not accept connections; see ${monitor.logFile}`);
  }
  if (fresh) {
    await query(monitorAdminUrl(state), async (sql) => {
      for (const [name, value] of Object.entries(MONITOR_SETTINGS)) await sql.unsafe(`alter system set ${name} = '${value}'`);
      await sql`select pg_reload_conf()`;
    });
  }
}

export async function upHaShard(state: ClusterState, shard: number, migrate: (url: string) => Promise<string[]>, log: (l: string) => void): Promise<void> {
  const formation = formationOf(shard);
  await query(monitorAdminUrl(state), async (sql) => {
    const [known] = await sql`select 1 from pgautofailover.formation where formationid = ${formation}`;
    if (!known) await sql`select * from pgautofailover.create_formation(${formation}, 'pgsql', 'shorten', true, 0)`;
  });
  const a = findNode(state, shard, "primary");
  const b = findNode(state, shard, "replica");
  const fresh = [a, b].filter((node) => !isInitialised(node));
  for (const node of fresh) await forgetLostNode(state, node, log);
  if (fresh.length === 2) {
    // A new shard: the first keeper initialises the primary, which gets the schema before its standby is copied from it.
    await startIfDown(state, a, log, createArgs(state, a));
    await waitForStates(state, { [keeperName(a)]: ["single"] }, 60_000);
    await tuneNode(state, a);
    const applied = await migrate(a.url);
    if (applied.length > 0) log(`shard ${shard}: applied ${applied.join(", ")}`);
  }
  for (const node of [a, b]) await startIfDown(state, node, log, createArgs(state, node));
  // pg_basebackup waits for a spread checkpoint on the primary (7 s on an idle node here); an
  // immediate CHECKPOINT makes the one in progress finish at once.
  const nudge = async () => {
    for (const node of [a, b]) await query(`postgres://postgres@127.0.0.1:${node.port}/postgres`, (sql) => sql`checkpoint`);
  };
  await waitForStates(state, { [keeperName(a)]: ["primary", "secondary"], [keeperName(b)]: ["primary", "secondary"] }, 120_000, fresh.length > 0 ? nudge : undefined);
  // Only now: `config set` signals the running keeper, found through a pid file a starting one has not written yet.
  for (const node of fresh) if (node !== a || fresh.length === 1) await tuneKeeper(state, node);
  if (fresh.length < 2) {
    const applied = await migrate(pairUrl(state, shard, "primary"));
    if (applied.length > 0) log(`shard ${shard}: applied ${applied.join(", ")}`);
  }
}

/**
 * A node whose data is gone for good (its disk lost, its folder deleted) is dropped from the
 * monitor and its keeper's files removed, so that `up` creates it again: it registers anew and
 * is rebuilt by pg_basebackup as the standby of whichever node is primary now.
 */
async function forgetLostNode(state: ClusterState, node: NodeState, log: (l: string) => void): Promise<void> {
  await query(monitorAdminUrl(state), async (sql) => {
    const [known] = await sql`select nodeid from pgautofailover.node where nodename = ${keeperName(node)}`;
    if (!known) return;
    await sql`select pgautofailover.remove_node(${known.nodeid}::bigint, true)`;
    log(`shard ${node.shard} ${keeperName(node)}: its data is gone; dropped from the monitor, to be rebuilt as a standby`);
  });
  const home = join(state.nodesDir ?? state.dir, "autoctl");
  for (const kind of ["config", "data"]) rmSync(join(home, kind, "pg_autoctl", node.dataDir), { recursive: true, force: true });
}

const monitorAdminUrl = (state: ClusterState) => `postgres://postgres@127.0.0.1:${state.monitor!.port}/pg_auto_failover`;

/**
 * The env contract's two entries of a shard under the engine: both name the pair's hosts;
 * postgres.js connects to whichever takes writes (`target_session_attrs=read-write`: a node
 * mid-promotion is out of recovery but still read-only, which `primary` would accept), and
 * prefers the standby for reads, falling back to the primary when it is the only one left.
 */
export function pairUrl(state: Pick<ClusterState, "nodes">, shard: number, role: "primary" | "replica"): string {
  const ports = (["primary", "replica"] as const).map((r) => state.nodes.find((n) => n.shard === shard && n.role === r)!.port);
  return `postgres://postgres@${ports.map((p) => `127.0.0.1:${p}`).join(",")}/shorten?target_session_attrs=${role === "primary" ? "read-write" : "prefer-standby"}`;
}

function createArgs(state: ClusterState, node: NodeState): string[] {
  return ["create", "postgres", "--pgdata", node.dataDir, "--pgport", String(node.port), "--hostname", "127.0.0.1", "--monitor", monitorUrl(state), "--auth", "trust", "--no-ssl", "--formation", formationOf(node.shard), "--name", keeperName(node), "--dbname", "shorten", "--run"];
}

/** Starts the keeper unless it runs; true when it was started. */
async function startIfDown(state: ClusterState, node: NodeState, log: (l: string) => void, create: string[]): Promise<boolean> {
  const label = node.role === "monitor" ? `monitor :${node.port}` : `shard ${node.shard} ${keeperName(node)} :${node.port}`;
  if (isKeeperOf(node, node.pid)) {
    log(`${label} already running (keeper ${node.pid})`);
    return false;
  }
  if (!(await portFree(node.port))) throw new Error(`${label}: port ${node.port} is in use by a process this cluster did not start`);
  await startKeeper(state, node, isInitialised(node) ? null : create);
  writeState(state);
  log(`${label} started (keeper ${node.pid})`);
  return true;
}

/**
 * The node's own settings, copied to its standby by pg_basebackup (postgresql.auto.conf): a
 * throwaway cluster skips fsync, but never synchronous_commit, which the engine's synchronous
 * replication rests on.
 */
async function tuneNode(state: ClusterState, node: NodeState): Promise<void> {
  await query(`postgres://postgres@127.0.0.1:${node.port}/postgres`, async (sql) => {
    const settings: Record<string, string> = { wal_keep_size: "256MB", wal_retrieve_retry_interval: "500ms", log_line_prefix: "%m [%p] " };
    if (state.fast) Object.assign(settings, { fsync: "off", full_page_writes: "off" });
    for (const [name, value] of Object.entries(settings)) await sql.unsafe(`alter system set ${name} = '${value}'`);
    await sql`select pg_reload_conf()`;
  });
  await tuneKeeper(state, node);
}

async function tuneKeeper(state: ClusterState, node: NodeState): Promise<void> {
  await runOk(autoctl(state, ["config", "set", "--pgdata", node.dataDir, "timeout.network_partition_timeout", String(NETWORK_PARTITION_TIMEOUT_S)]));
}

/** Runs `fn` on a one-connection client; false (not thrown) when the node cannot be reached. */
async function query(url: string, fn: (sql: postgres.Sql) => Promise<unknown>): Promise<boolean> {
  const sql = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => {} });
  try {
    await fn(sql);
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === "ECONNREFUSED" || (error as { code?: string }).code === "CONNECT_TIMEOUT") return false;
    throw error;
  } finally {
    await sql.end({ timeout: 2 });
  }
}
