import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { asPgUser, chownToPgUser, runOk } from "./exec";
import { cmdline, isAlive, portFree, signal, waitForExit, waitUntil } from "./proc";
import type { ClusterState } from "./state";

/**
 * pgbouncer (session pooling) between the keepers and the monitor. Each keeper opens a new
 * connection to the monitor for every call, about 16 a second for a 3-shard cluster, and a
 * PostgreSQL backend start costs 16 ms of CPU on the 2-core VMs this runs on: measured, an idle
 * 3-shard cluster kept 78 % of both cores busy with the keepers connecting straight to the
 * monitor, 43 % through the pooler. Session pooling keeps what a keeper's session relies on
 * (LISTEN included); the monitor's own health checks of the nodes do not pass through it.
 * Optional: without the `pgbouncer` binary the keepers connect to the monitor directly.
 */
export interface MonitorPooler {
  port: number;
  dir: string;
  pid: number | null;
}

const BINARY = "/usr/sbin/pgbouncer";

/** The pooler a new cluster gets on base+8, or none when pgbouncer is not installed. */
export function planPooler(nodesDir: string, basePort: number): MonitorPooler | undefined {
  return existsSync(BINARY) ? { port: basePort + 8, dir: join(nodesDir, "monitor-pooler"), pid: null } : undefined;
}

/** Starts the pooler unless it runs; resolves once it accepts connections. */
export async function ensurePooler(state: ClusterState): Promise<void> {
  const pooler = state.pooler;
  if (!pooler || poolerRunning(pooler)) return;
  if (!(await portFree(pooler.port))) throw new Error(`monitor pooler: port ${pooler.port} is in use by a process this cluster did not start`);
  mkdirSync(pooler.dir, { recursive: true });
  const listen = ["127.0.0.1", ...(state.network ? [state.network.gateway] : [])].join(",");
  writeFileSync(join(pooler.dir, "users.txt"), '"autoctl_node" ""\n');
  writeFileSync(
    join(pooler.dir, "pgbouncer.ini"),
    [
      "[databases]",
      `pg_auto_failover = host=127.0.0.1 port=${state.monitor!.port} dbname=pg_auto_failover`,
      "[pgbouncer]",
      `listen_addr = ${listen}`,
      `listen_port = ${pooler.port}`,
      "unix_socket_dir =",
      "auth_type = trust",
      `auth_file = ${join(pooler.dir, "users.txt")}`,
      "pool_mode = session",
      "max_client_conn = 500",
      "default_pool_size = 40",
      "log_connections = 0",
      "log_disconnections = 0",
      `logfile = ${join(pooler.dir, "pgbouncer.log")}`,
      `pidfile = ${join(pooler.dir, "pgbouncer.pid")}`,
      "ignore_startup_parameters = extra_float_digits,application_name",
      "",
    ].join("\n"),
  );
  await chownToPgUser(pooler.dir);
  // pgbouncer refuses to run as root; -d daemonises it once it listens.
  await runOk(asPgUser([BINARY, "-d", join(pooler.dir, "pgbouncer.ini")]));
  const pidFile = join(pooler.dir, "pgbouncer.pid");
  if (!(await waitUntil(() => existsSync(pidFile), 5000, 20))) throw new Error(`monitor pooler did not start; see ${join(pooler.dir, "pgbouncer.log")}`);
  pooler.pid = Number(readFileSync(pidFile, "utf8").trim());
}

/** Alive and ours (its command line names our config), not a recycled PID. */
export const poolerRunning = (pooler: MonitorPooler) => isAlive(pooler.pid) && cmdline(pooler.pid!).includes(pooler.dir);

/** Stops the pooler, found by its own pid file: a state saved by an older copy may hold another pid. */
export async function stopPooler(state: ClusterState): Promise<void> {
  const pooler = state.pooler;
  if (!pooler) return;
  const pidFile = join(pooler.dir, "pgbouncer.pid");
  for (const pid of new Set([pooler.pid, existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8").trim()) : null])) {
    if (!poolerRunning({ ...pooler, pid })) continue;
    signal(pid!, "SIGTERM");
    if (!(await waitForExit(pid!, 5000))) signal(pid!, "SIGKILL");
  }
  pooler.pid = null;
}
