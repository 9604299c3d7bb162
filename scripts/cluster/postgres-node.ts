import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import { asPgUser, chownToPgUser, run, runOk } from "./exec";
import { childrenOf, cmdline, isAlive, logTail, signal, waitForExit, waitUntil } from "./proc";
import type { NodeState } from "./state";

/**
 * A PostgreSQL node: a primary made by initdb, or a streaming replica made from its primary
 * with `pg_basebackup -R` (standby.signal + primary_conninfo). Node-specific settings live in
 * `shorten.conf`, included from postgresql.conf, so a replica copied from its primary only
 * needs that one file rewritten.
 */

export const isInitialised = (node: NodeState) => existsSync(join(node.dataDir, "PG_VERSION"));

export function pgStartArgv(pgBin: string, node: NodeState): string[] {
  return [join(pgBin, "pg_ctl"), "-D", node.dataDir, "-l", node.logFile, "-w", "-t", "120", "-s", "start"];
}

export async function initPrimary(pgBin: string, node: NodeState, fast: boolean): Promise<void> {
  rmSync(node.dataDir, { recursive: true, force: true }); // a half-made one from an interrupted run
  mkdirSync(node.dir, { recursive: true });
  await chownToPgUser(node.dir);
  await runOk(asPgUser(initdbArgv(pgBin, node.dataDir)), { cwd: node.dir });
  appendFileSync(join(node.dataDir, "postgresql.conf"), "\ninclude 'shorten.conf'\n");
  writeFileSync(join(node.dataDir, "pg_hba.conf"), HBA);
  await writeNodeConf(node, fast);
}

const initdbArgv = (pgBin: string, dataDir: string) => [join(pgBin, "initdb"), "-D", dataDir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"];

/**
 * A fresh data directory copied from one initdb per cluster (`<nodesDir>/pg-template`, made on
 * first use): initdb is most of a new node's start-up, and several at once on two cores take
 * three times as long as one. Copies share a system identifier, which only a primary and its
 * own standbys are compared by. `trustSubnet`: a namespaced node's peers and clients connect
 * from that subnet, not from 127.0.0.1 (a standby copies the rule with the rest of PGDATA).
 */
export async function copyFreshDataDir(pgBin: string, nodesDir: string, node: NodeState, trustSubnet?: string): Promise<void> {
  const template = join(nodesDir, "pg-template");
  let ready = templates.get(template);
  if (ready === undefined) {
    ready = (async () => {
      if (existsSync(join(template, "PG_VERSION"))) return;
      const building = `${template}.${process.pid}`;
      rmSync(building, { recursive: true, force: true });
      mkdirSync(nodesDir, { recursive: true });
      await chownToPgUser(nodesDir);
      await runOk(asPgUser(initdbArgv(pgBin, building)), { cwd: nodesDir });
      // CREATE DATABASE on a running node waits for a checkpoint (seconds, with fsync on and
      // several nodes starting); in single-user mode, before any server runs, it is instant.
      await runOk(["sh", "-c", `echo 'create database ${TEMPLATE_DATABASE}' | ${asPgUser([join(pgBin, "postgres"), "--single", "-D", building, "-j", "postgres"]).map((a) => `'${a}'`).join(" ")} > /dev/null`], { cwd: nodesDir });
      renameSync(building, template);
    })();
    // Only while it is being made: a wiped cluster of the same name needs a new one.
    templates.set(template, ready);
    ready.then(() => templates.delete(template), () => templates.delete(template));
  }
  await ready;
  rmSync(node.dataDir, { recursive: true, force: true });
  mkdirSync(node.dir, { recursive: true });
  await runOk(["cp", "-a", template, node.dataDir]);
  if (trustSubnet) appendFileSync(join(node.dataDir, "pg_hba.conf"), `host all all ${trustSubnet} trust\nhost replication all ${trustSubnet} trust\n`);
  await chownToPgUser(node.dir);
}
const templates = new Map<string, Promise<void>>();
/** The database the template already has (the app's). */
const TEMPLATE_DATABASE = "shorten";

/** Copies the running primary into node.dataDir as a hot standby that streams from it. */
export async function cloneReplica(pgBin: string, primary: NodeState, node: NodeState, fast: boolean): Promise<void> {
  rmSync(node.dataDir, { recursive: true, force: true });
  mkdirSync(node.dir, { recursive: true });
  await chownToPgUser(node.dir);
  const basebackup = [join(pgBin, "pg_basebackup"), "-h", "127.0.0.1", "-p", String(primary.port), "-U", "postgres", "-D", node.dataDir, "-R", "-X", "stream", "-c", "fast", "--no-sync"];
  await runOk(asPgUser(basebackup), { cwd: node.dir, timeoutMs: 120_000 });
  await writeNodeConf(node, fast); // the copy carries the primary's port and socket dir
}

async function writeNodeConf(node: NodeState, fast: boolean): Promise<void> {
  const lines = [
    "# Written by scripts/cluster for this node; rewritten when the node is (re)created.",
    "listen_addresses = '127.0.0.1'",
    `port = ${node.port}`,
    `unix_socket_directories = '${node.dir}'`, // never /var/run/postgresql: that is the machine's own server
    "max_connections = 100",
    "shared_buffers = 32MB",
    "wal_level = replica",
    "max_wal_senders = 10",
    "wal_keep_size = 256MB", // lets a replica that was down for a while catch up without a slot
    "hot_standby = on",
    "wal_retrieve_retry_interval = 500ms", // a replica reconnects quickly after its primary restarts
    "log_line_prefix = '%m [%p] '",
    ...(fast ? ["fsync = off", "synchronous_commit = off", "full_page_writes = off"] : []),
  ];
  writeFileSync(join(node.dataDir, "shorten.conf"), `${lines.join("\n")}\n`);
  await chownToPgUser(node.dir);
}

/** Is `pid` the postmaster of this node's data dir (not a recycled PID)? */
export function isPostmasterOf(node: NodeState, pid: number | null | undefined): pid is number {
  return isAlive(pid) && cmdline(pid!).includes(`-D ${node.dataDir}`);
}

/** The postmaster PID from postmaster.pid, when that process is still this node's server. */
export function pgPidFromFile(node: NodeState): number | null {
  try {
    const pid = Number(readFileSync(join(node.dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
    return isPostmasterOf(node, pid) ? pid : null;
  } catch {
    return null;
  }
}

/**
 * Starts the node from node.start (same port, same data; a replica comes back as a standby
 * because standby.signal stays in its data dir) and waits until it accepts connections.
 */
export async function startPostgres(pgBin: string, node: NodeState): Promise<number> {
  clearStaleLocks(node);
  const { argv, runAs } = node.start!;
  const full = runAs ? ["runuser", "-u", runAs, "--", ...argv] : argv;
  await runOk(full, { cwd: node.dir, timeoutMs: 130_000, hint: () => `log tail (${node.logFile}):\n${logTail(node.logFile, 10)}` });
  const pid = pgPidFromFile(node);
  if (pid === null) throw new Error(`postgres on port ${node.port} started but postmaster.pid names no live server; see ${node.logFile}`);
  if (!(await waitUntil(() => pgReady(pgBin, node.port), 30_000, 50))) {
    throw new Error(`postgres on port ${node.port} is not accepting connections; see ${node.logFile}`);
  }
  return pid;
}

/**
 * After a SIGKILL the lock files still name the dead postmaster; PostgreSQL treats them as
 * live when that PID lingers as an unreaped zombie, so remove them when no server owns them.
 */
function clearStaleLocks(node: NodeState): void {
  const lock = join(node.dataDir, "postmaster.pid");
  if (existsSync(lock) && pgPidFromFile(node) === null) {
    rmSync(lock, { force: true });
    rmSync(join(node.dir, `.s.PGSQL.${node.port}.lock`), { force: true });
  }
}

export type PgStopMode = "kill" | "immediate" | "graceful";

/**
 * kill: SIGKILL to the postmaster and all its children at once (a crash of the whole server);
 * immediate: `pg_ctl stop -m immediate`; graceful: SIGINT (fast shutdown), escalating if it hangs.
 */
export async function stopPostgres(pgBin: string, node: NodeState, pid: number, mode: PgStopMode): Promise<void> {
  if (mode !== "kill") signalServer(pid, "SIGCONT"); // a paused server (pauseNode) cannot shut down
  if (mode === "immediate") {
    await run(asPgUser([join(pgBin, "pg_ctl"), "-D", node.dataDir, "-m", "immediate", "-w", "-t", "20", "-s", "stop"]), { cwd: node.dir });
    if (await waitForExit(pid, 5000)) return;
  } else if (mode === "graceful") {
    signal(pid, "SIGINT");
    if (await waitForExit(pid, 20_000)) return;
    signal(pid, "SIGQUIT");
    if (await waitForExit(pid, 5000)) return;
  }
  const family = signalServer(pid, "SIGKILL");
  // Restart needs the old children gone too: PostgreSQL refuses to start while any process
  // is still attached to the previous server's shared memory.
  const gone = await waitUntil(() => family.every((p) => !isAlive(p)), 5000, 20);
  if (!gone) throw new Error(`postgres pid ${pid} (port ${node.port}) did not exit`);
}

/**
 * Signals the postmaster and its children (backends, walsender, checkpointer...): each calls
 * setsid, so a process-group signal would reach the postmaster alone. Returns the PIDs signalled.
 */
export function signalServer(pid: number, sig: NodeJS.Signals): number[] {
  // Stopped during the scan, the postmaster forks no child the scan would miss (a backend for a
  // connection arriving just then would outlive a SIGKILL, attached to the old shared memory).
  if (sig === "SIGKILL" || sig === "SIGSTOP") signal(pid, "SIGSTOP");
  // Scan before signalling: a killed postmaster's children are re-parented and the scan would miss them.
  const family = [pid, ...childrenOf(pid)];
  for (const p of family) signal(p, sig); // postmaster first, so it stops forking new children
  return family;
}

export async function pgReady(pgBin: string, port: number): Promise<boolean> {
  const res = await run([join(pgBin, "pg_isready"), "-q", "-h", "127.0.0.1", "-p", String(port), "-t", "2"], { timeoutMs: 5000 });
  return res.code === 0;
}

/** Creates `name` on the server unless it exists (CREATE DATABASE has no IF NOT EXISTS). */
export async function ensureDatabase(port: number, name: string): Promise<void> {
  const sql = postgres({ host: "127.0.0.1", port, user: "postgres", database: "postgres", max: 1, onnotice: () => {} });
  try {
    const rows = await sql`SELECT 1 FROM pg_database WHERE datname = ${name}`;
    if (rows.length === 0) await sql.unsafe(`CREATE DATABASE "${name}"`);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

const HBA = `# Written by scripts/cluster: trust, but only over the node's own socket and 127.0.0.1.
local   all          all                 trust
local   replication  all                 trust
host    all          all   127.0.0.1/32  trust
host    replication  all   127.0.0.1/32  trust
`;
