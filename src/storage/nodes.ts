import Redis from "ioredis";
import postgres from "postgres";
import { hostsOf, redact } from "../config";
import { within } from "./deadline";
import { NodePolicy, type NodePolicyOptions } from "./resilience";
import { classifyPgError, classifyRedisError } from "./failure-kind";
import { NO_TRACING, type Tracing } from "../observability/tracing";

/**
 * A storage node: a client and the resilience policy every call to it goes through.
 * `role` and `url` are for health reports and events; the URL is shown without its password.
 */
export interface StorageNode<C> {
  readonly name: string;
  readonly role: "redis" | "primary" | "replica";
  readonly url: string;
  readonly client: C;
  readonly policy: NodePolicy;
  /** Spans for every call when tracing is on (a no-op otherwise). */
  readonly tracing: Tracing;
  readonly shard: number;
}

export type RedisNode = StorageNode<Redis>;
export interface PgNode extends Omit<StorageNode<postgres.Sql>, "client"> {
  /** Replaced by `followPrimary`; read it at each call. */
  client: postgres.Sql;
  /**
   * For a primary given several hosts (an HA pair): asks each host whether it takes writes that
   * commit (takesWrites) and, when another host than the first does, replaces the pool by one
   * that tries that host first. Run at start, and after a write times out or is refused as
   * read-only. postgres.js' `target_session_attrs` alone is not enough: it is checked only at
   * connect, and when several connections open at once with a standby listed first they all
   * land on the standby (measured: 20 concurrent writes, all refused as read-only); and a node
   * the engine demoted may come back writable on its own, still waiting for a synchronous standby
   * that left, so its commits hang. Null for a single host.
   */
  readonly followPrimary: (() => void) | null;
}

const READ_ONLY = "25006";

/** Hosts are asked at most this often, so a burst of failures under load is one round of questions. */
const FOLLOW_EVERY_MS = 2000;

/** A node's timeouts, retries and breaker; which failures count is the storage layer's to say (failure-kind.ts). */
export type PolicyTuning = Omit<NodePolicyOptions, "classify">;

export interface NodeTuning {
  redisPolicy: PolicyTuning;
  dbPolicy: PolicyTuning;
  dbPoolSize: number;
  tracing?: Tracing;
}

export function createRedisNode(name: string, url: string, policy: PolicyTuning, shard = -1, tracing: Tracing = NO_TRACING): RedisNode {
  const client = new Redis(url, {
    // A down node must fail fast, not queue commands until it returns: the breaker decides.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    // Commands issued in the same tick go out in one write: measured ~15% less CPU per redirect.
    enableAutoPipelining: true,
    connectTimeout: 1000,
    retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
    lazyConnect: false,
  });
  // Connection errors surface through calls and the breaker; the default handler would spam stderr.
  client.on("error", () => {});
  return { name, role: "redis", url: redact(url), client, policy: new NodePolicy(name, { ...policy, classify: classifyRedisError }), tracing, shard };
}

export function createPgNode(name: string, role: "primary" | "replica", url: string, policy: PolicyTuning, poolSize: number, shard = -1, tracing: Tracing = NO_TRACING): PgNode {
  const open = (target: string) => openPg(target, role, policy, poolSize);
  const parts = hostsOf(url);
  const node: PgNode = { name, role, url: redact(url), client: open(url), policy: new NodePolicy(name, { ...policy, classify: classifyPgError, retryTimeouts: role !== "primary" }), tracing, shard, followPrimary: null };
  if (role !== "primary" || parts === null || parts.hosts.length < 2) return node;
  let hosts = parts.hosts;
  let checkedAt = 0;
  let checking = false;
  const follow = async () => {
    const fit = await Promise.all(hosts.map((host) => takesWrites(`${parts.prefix}${host}${parts.rest}`, policy.timeoutMs)));
    const writer = hosts[fit.indexOf(true)];
    if (writer === undefined || writer === hosts[0]) return;
    hosts = [writer, ...hosts.filter((h) => h !== writer)];
    const old = node.client;
    node.client = open(`${parts.prefix}${hosts.join(",")}${parts.rest}`);
    // Calls already on the old pool finish there; one hung on a node that cannot commit is cut off.
    old.end({ timeout: 5 }).catch(() => {});
  };
  const followPrimary = () => {
    if (checking || Date.now() - checkedAt < FOLLOW_EVERY_MS) return;
    checking = true;
    checkedAt = Date.now();
    follow()
      .catch(() => {})
      .finally(() => (checking = false));
  };
  followPrimary();
  return Object.assign(node, { followPrimary });
}

/** One row, `fit`: this node takes writes that commit (see takesWrites). */
export const TAKES_WRITES_SQL = `
  select not pg_is_in_recovery() and current_setting('transaction_read_only') = 'off'
     and (current_setting('synchronous_standby_names') = ''
          or exists (select 1 from pg_stat_replication where sync_state in ('sync', 'quorum'))) as fit`;

/**
 * Does the node at `url` (one host) take writes that commit: out of recovery, not read-only,
 * and, when it waits for synchronous standbys, with one connected. A demoted primary that came
 * back on its own passes the first two and fails the third. Any failure to answer is a no.
 */
async function takesWrites(url: string, timeoutMs: number): Promise<boolean> {
  const sql = postgres(url.replace(/([?&])target_session_attrs=[^&]*&?/, "$1").replace(/[?&]$/, ""), { max: 1, connect_timeout: Math.max(1, Math.ceil(timeoutMs / 1000)), onnotice: () => {} });
  try {
    const answer = sql.unsafe<Array<{ fit: boolean }>>(TAKES_WRITES_SQL);
    const [row] = await within<ReadonlyArray<{ fit: boolean }>>(answer, timeoutMs, () => [{ fit: false }]);
    return row?.fit === true;
  } catch {
    return false;
  } finally {
    await sql.end({ timeout: 1 }).catch(() => {});
  }
}

function openPg(url: string, role: "primary" | "replica", policy: PolicyTuning, poolSize: number): postgres.Sql {
  return postgres(url, {
    max: poolSize,
    connect_timeout: Math.max(1, Math.ceil((policy.timeoutMs * 2) / 1000)),
    idle_timeout: 60,
    max_lifetime: 60 * 30,
    onnotice: () => {},
    connection: { application_name: `shorten-${role}` },
    types: { date: { to: 1184, from: [1082, 1114, 1184], serialize: timestampParameter, parse: (text: string) => new Date(text) } },
  }) as unknown as postgres.Sql;
}

/**
 * A timestamp parameter as postgres.js sends it, except that what no calendar has goes to the
 * server as it came, to be refused there (SQLSTATE 22007/22008: the statement's fault). postgres.js'
 * own serializer throws on it halfway through the Bind message, which leaves the connection
 * waiting until the call times out: a client's bad date would count against the node.
 */
function timestampParameter(value: unknown): string {
  const date = value instanceof Date ? value : new Date(value as string);
  if (!Number.isNaN(date.getTime())) return date.toISOString();
  return value instanceof Date ? "invalid date" : String(value);
}

/**
 * Runs a postgres.js query under the node's policy and cancels it on the server when the
 * policy gives up, so a slow query does not keep a pooled connection busy.
 *
 * @example const rows = await pgCall(node, (sql) => sql`select 1`, { idempotent: true });
 */
export function pgCall<R extends readonly postgres.MaybeRow[]>(node: PgNode, query: (sql: postgres.Sql) => postgres.PendingQuery<R>, opts: { idempotent: boolean }): Promise<postgres.RowList<R>> {
  const call = () =>
    node.policy.run((onTimeout) => {
      const pending = query(node.client);
      onTimeout(() => {
        cancelQuery(pending);
        node.followPrimary?.();
      });
      if (node.followPrimary) pending.catch((error: unknown) => (error as { code?: string }).code === READ_ONLY && node.followPrimary!());
      return pending;
    }, opts);
  return node.tracing.enabled ? node.tracing.span(`postgres ${node.role}`, spanAttributes(node, "postgresql"), call) : call();
}

/**
 * Asks the server to cancel a query that passed its deadline. postgres.js' `query.cancel()`
 * starts the cancel request (a connection of its own) and drops its promise, so a cancel sent to
 * a node that has just died rejects with no handler, and an unhandled rejection ends the process
 * (an instance went down this way when a primary was stopped under a create). Its canceller (the
 * pool's `cancel(query)`, which returns that promise) is called here instead, and the failure is
 * dropped: the query has already failed on its own deadline. test/integration/node-policy.test.ts
 * fails if a postgres.js upgrade changes this.
 */
function cancelQuery(query: object): void {
  const q = query as unknown as { canceller?: ((query: unknown) => Promise<unknown>) | null };
  const canceller = q.canceller;
  if (typeof canceller !== "function") return;
  q.canceller = null;
  canceller(query).catch(() => {});
}

function spanAttributes(node: StorageNode<unknown>, system: string) {
  return { "db.system": system, "shorten.shard": node.shard, "shorten.node": node.name, "shorten.role": node.role };
}

/** Redis commands cannot be cancelled: a timed-out one is abandoned, and the breaker stops new ones piling up. */
export function redisCall<T>(node: RedisNode, command: (redis: Redis) => Promise<T>, opts: { idempotent: boolean }): Promise<T> {
  const call = () => node.policy.run(() => command(node.client), opts);
  return node.tracing.enabled ? node.tracing.span("redis", spanAttributes(node, "redis"), call) : call();
}

export async function closeRedisNode(node: RedisNode): Promise<void> {
  try {
    await node.client.quit();
  } catch {
    node.client.disconnect();
  }
}

export async function closePgNode(node: PgNode): Promise<void> {
  await node.client.end({ timeout: 2 });
}
