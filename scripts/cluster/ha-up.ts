import { appendFileSync, existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import { autoctl, currentPrimary, engineEvents, formationOf, isKeeperOf, keeperCreated, keeperFolders, keeperName, monitorUrl, MONITOR_SETTINGS, NETWORK_PARTITION_TIMEOUT_S, startKeeper, waitForStates } from "./ha-engine";
import { runOk } from "./exec";
import { TAKES_WRITES_SQL } from "../../src/storage/host-choice";
import { ensurePooler } from "./monitor-pooler";
import { copyFreshDataDir, isInitialised } from "./postgres-node";
import { logTail, portFree, waitUntil } from "./proc";
import { findNode, hostOf, writeState, type ClusterState, type NodeState } from "./state";

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
    throw new Error(`the HA engine needs pg_auto_failover: apt-get install pg-auto-failover-cli postgresql-${version}-auto-failover (or \`up --no-ha\` for plain pairs)`);
  }
  // The monitor runs its own initdb rather than wait for the template: the two run side by
  // side, and the monitor is what every keeper waits for.
  const fresh = !isInitialised(monitor);
  if (await startIfDown(state, monitor, log, ["create", "monitor", "--pgdata", monitor.dataDir, "--pgport", String(monitor.port), "--hostname", "127.0.0.1", "--auth", "trust", "--no-ssl", "--run"])) {
    if (!(await waitUntil(() => query(monitorUrl(state), (sql) => sql`select 1`).catch(() => false), 60_000, 100))) throw new Error(`monitor :${monitor.port} did not accept connections; see ${monitor.logFile}`);
  }
  if (fresh) {
    await query(monitorAdminUrl(state), async (sql) => {
      for (const [name, value] of Object.entries(MONITOR_SETTINGS)) await sql.unsafe(`alter system set ${name} = '${value}'`);
      // Namespaced keepers without the pooler reach the monitor from the bridge's subnet.
      if (state.network) appendFileSync(join(monitor.dataDir, "pg_hba.conf"), `host all all ${state.network.subnet} trust\n`);
      await sql`select pg_reload_conf()`;
    });
  }
  await ensurePooler(state);
}

/**
 * One shard's pair. `writable` resolves once the shard's primary takes writes and has the
 * schema (a new primary is `single` or `wait_primary` then: its commits do not wait for a
 * standby yet); `done` once the standby is in sync and the pair can fail over. A new shard's
 * standby is created once `standbyMayStart` resolves; an existing pair's both start at once
 * (a restarted primary's commits wait for its synchronous standby). A new shard's first node
 * holds its template copy already (prepareNewShards, beside the monitor's start).
 */
export function upHaShard(state: ClusterState, shard: number, migrate: ((url: string) => Promise<string[]>) | null, log: (l: string) => void, standbyMayStart: Promise<void>): { writable: Promise<void>; done: Promise<void> } {
  let markWritable!: () => void;
  const writable = new Promise<void>((resolve) => (markWritable = resolve));
  const done = (async () => {
    const formation = formationOf(shard);
    await whileStarting(`the monitor :${state.monitor!.port}`, () =>
      query(monitorAdminUrl(state), async (sql) => {
        const [known] = await sql`select 1 from pgautofailover.formation where formationid = ${formation}`;
        if (!known) await sql`select * from pgautofailover.create_formation(${formation}, 'pgsql', 'shorten', true, 0)`;
      }),
    );
    const a = findNode(state, shard, "primary");
    const b = findNode(state, shard, "replica");
    const newShard = isNewShard(state, shard);
    const lost = newShard ? [] : [a, b].filter((node) => !isInitialised(node));
    for (const node of lost) await forgetLostNode(state, node, log);
    // A new shard's first keeper registers alone: the monitor makes the first node of a formation its primary.
    for (const node of newShard ? [a] : [a, b]) await startIfDown(state, node, log, createArgs(state, node));
    const writer = pairUrl(state, shard, "primary");
    // The engine's word first: a keeper that is still being created restarts its PostgreSQL
    // once under its supervisor, so a node that took a write a moment ago may refuse the next.
    const settled = async () => (await currentPrimary(state, shard).catch(() => null)) !== null;
    if (!(await waitUntil(async () => (await settled()) && (await takesWrites(writer)), 60_000, 250))) {
      throw new Error(`shard ${shard}: no node of the pair took writes within 60 s; logs under ${nodesDirOf(state)}\n${await whyNoWriter(state, shard, [a, b])}`);
    }
    if (migrate) {
      const applied = await whileStarting(`shard ${shard}'s primary`, () => migrate(writer));
      if (applied.length > 0) log(`shard ${shard}: applied ${applied.join(", ")}`);
    }
    markWritable();
    if (newShard) {
      await standbyMayStart;
      await startIfDown(state, b, log, createArgs(state, b));
    }
    // pg_basebackup waits for a spread checkpoint on the primary (7 s on an idle node here); an
    // immediate CHECKPOINT makes the one in progress finish at once. Only while a backup waits:
    // each one flushes everything, and the nodes starting beside it need the disk too.
    const nudge = async () => {
      for (const node of [a, b]) {
        await query(adminUrl(node), async (sql) => {
          const [waiting] = await sql`select 1 from pg_stat_activity where backend_type = 'walsender' and wait_event = 'CheckpointDone'`;
          if (waiting) await sql`checkpoint`;
        });
      }
    };
    const made = newShard ? [a, b] : lost;
    await waitForStates(state, { [keeperName(a)]: ["primary", "secondary"], [keeperName(b)]: ["primary", "secondary"] }, 120_000, made.length > 0 ? nudge : undefined);
    // Only now: `config set` signals the running keeper, found through a pid file a starting one has not written yet.
    for (const node of made) await tuneNode(state, node);
  })();
  // A failure before the shard took writes fails both; `writable` alone is never left pending.
  done.catch(() => markWritable());
  return { writable, done };
}

/** For the error of a pair that took no writes (a test's cluster is wiped after): the monitor's last word on it and its keepers' logs. */
async function whyNoWriter(state: ClusterState, shard: number, nodes: readonly NodeState[]): Promise<string> {
  return [`monitor events, newest first:`, ...(await engineEvents(state, 10, shard)).map((e) => `  ${e}`), ...nodes.map((n) => `${keeperName(n)} log:\n${logTail(n.logFile, 12)}`)].join("\n");
}

/** Neither node of the shard was ever created (its first node may already hold the template's copy). */
const isNewShard = (state: ClusterState, shard: number) => !keeperCreated(state, findNode(state, shard, "primary")) && !isInitialised(findNode(state, shard, "replica"));

/** A new shard's first node starts from a copy of the cluster's initdb template. */
async function prepareFirstNode(state: ClusterState, node: NodeState): Promise<void> {
  if (!isInitialised(node)) await copyFreshDataDir(state.binaries.pgBin, nodesDirOf(state), node, node.netns ? state.network!.subnet : undefined);
}

/** The template copies of every new shard's first node, made while the monitor starts. */
export async function prepareNewShards(state: ClusterState): Promise<void> {
  await Promise.all(Array.from({ length: state.shards }, (_, shard) => (isNewShard(state, shard) ? prepareFirstNode(state, findNode(state, shard, "primary")) : undefined)));
}

/**
 * Would a write through `url` commit: a node out of recovery, not read-only, and, when it waits
 * for a synchronous standby (a restarted pair until its standby is back), with one connected.
 * Any error is "not yet": the node may be starting up.
 */
async function takesWrites(url: string): Promise<boolean> {
  let fit = false;
  await query(url, async (sql) => {
    const [row] = await sql.unsafe<Array<{ fit: boolean }>>(TAKES_WRITES_SQL);
    fit = row?.fit === true;
  }).catch(() => false);
  return fit;
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
  for (const folder of keeperFolders(state, node)) rmSync(folder, { recursive: true, force: true });
}

const nodesDirOf = (state: ClusterState) => state.nodesDir ?? state.dir;

const adminUrl = (node: NodeState) => `postgres://postgres@${hostOf(node)}:${node.port}/postgres`;

const monitorAdminUrl = (state: ClusterState) => `postgres://postgres@127.0.0.1:${state.monitor!.port}/pg_auto_failover`;

/**
 * The env contract's two entries of a shard under the engine: both name the pair's hosts;
 * postgres.js connects to whichever takes writes (`target_session_attrs=read-write`: a node
 * mid-promotion is out of recovery but still read-only, which `primary` would accept), and
 * prefers the standby for reads, falling back to the primary when it is the only one left.
 */
export function pairUrl(state: Pick<ClusterState, "nodes">, shard: number, role: "primary" | "replica"): string {
  const pair = (["primary", "replica"] as const).map((r) => state.nodes.find((n) => n.shard === shard && n.role === r)!);
  return `postgres://postgres@${pair.map((n) => `${hostOf(n)}:${n.port}`).join(",")}/shorten?target_session_attrs=${role === "primary" ? "read-write" : "prefer-standby"}`;
}

function createArgs(state: ClusterState, node: NodeState): string[] {
  return ["create", "postgres", "--pgdata", node.dataDir, "--pgport", String(node.port), "--hostname", hostOf(node), "--monitor", monitorUrl(state, node), "--auth", "trust", "--no-ssl", "--formation", formationOf(node.shard), "--name", keeperName(node), "--dbname", "shorten", "--run"];
}

/** Starts the keeper unless it runs; true when it was started. */
async function startIfDown(state: ClusterState, node: NodeState, log: (l: string) => void, create: string[]): Promise<boolean> {
  const label = node.role === "monitor" ? `monitor :${node.port}` : `shard ${node.shard} ${keeperName(node)} :${node.port}`;
  if (isKeeperOf(node, node.pid)) {
    log(`${label} already running (keeper ${node.pid})`);
    return false;
  }
  if (!(await portFree(node.port))) throw new Error(`${label}: port ${node.port} is in use by a process this cluster did not start`);
  await startKeeper(state, node, keeperCreated(state, node) ? null : create);
  writeState(state);
  log(`${label} started (keeper ${node.pid})`);
  return true;
}

/**
 * The node's own settings (postgresql.auto.conf, which a standby may also be given): a
 * throwaway cluster skips fsync, but never synchronous_commit, which the engine's synchronous
 * replication rests on, nor full_page_writes, without which pg_rewind refuses and an old
 * primary rejoins by a whole base backup (measured: 24–48 s waiting on a spread checkpoint,
 * against about a second rewound).
 */
async function tuneNode(state: ClusterState, node: NodeState): Promise<void> {
  await query(adminUrl(node), async (sql) => {
    // wal_sender_timeout: a primary cut off from everything learns its standby is gone (and so
    // that it is alone: its keeper demotes it) in seconds rather than the default minute.
    const settings: Record<string, string> = { wal_keep_size: "256MB", wal_retrieve_retry_interval: "500ms", wal_sender_timeout: "5s", log_line_prefix: "%m [%p] " };
    if (state.fast) Object.assign(settings, { fsync: "off", full_page_writes: "on" });
    for (const [name, value] of Object.entries(settings)) await sql.unsafe(`alter system set ${name} = '${value}'`);
    await sql`select pg_reload_conf()`;
  });
  await tuneKeeper(state, node);
}

async function tuneKeeper(state: ClusterState, node: NodeState): Promise<void> {
  await runOk(autoctl(state, ["config", "set", "--pgdata", node.dataDir, "timeout.network_partition_timeout", String(NETWORK_PARTITION_TIMEOUT_S)]));
}

/** What a PostgreSQL answers while it starts, or restarts under its keeper: ask again. */
const STARTING = new Set(["57P03", "57P01", "ECONNREFUSED", "ECONNRESET", "CONNECT_TIMEOUT"]);

/**
 * `step` again, for up to 30 s, while the node it talks to is starting: refused connections
 * (`query` says false) and "the database system is starting up". Right after a whole cluster
 * was stopped and brought up, a monitor or keeper that answered a moment ago can restart its
 * PostgreSQL once under its supervisor. Any other error fails at once.
 */
async function whileStarting<T>(what: string, step: () => Promise<T | false>): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    let error: unknown = null;
    try {
      const done = await step();
      if (done !== false) return done;
    } catch (caught) {
      if (!STARTING.has((caught as { code?: string }).code ?? "")) throw caught;
      error = caught;
    }
    if (Date.now() >= deadline) throw new Error(`${what} was still starting after 30 s${error ? `: ${(error as Error).message}` : ""}`);
    await Bun.sleep(250);
  }
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
