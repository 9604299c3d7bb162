import Redis from "ioredis";
import postgres from "postgres";
import { hostsOf, redact } from "../config";
import { boundedBackoff, HostChoice, withoutSessionAttrs } from "./host-choice";
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
  /** Replaced when the node's host choice moves (an HA pair); read it at each call. */
  client: postgres.Sql;
  /** For a node given several hosts: which one its pool holds (host-choice.ts). Null for one host. */
  readonly hosts: HostChoice | null;
}

const READ_ONLY = "25006";

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
  const nodePolicy = new NodePolicy(name, { ...policy, classify: classifyPgError, retryTimeouts: role !== "primary" });
  const parts = hostsOf(url);
  if (parts === null || parts.hosts.length < 2) return { name, role, url: redact(url), client: open(url), policy: nodePolicy, tracing, shard, hosts: null };
  const rest = withoutSessionAttrs(parts.rest);
  // The choice moves only once its hosts have answered, after `node` below exists.
  const hosts = new HostChoice(parts.hosts, (host) => `${parts.prefix}${host}${rest}`, role === "primary" ? "writer" : "reader", policy.timeoutMs, (chosen) => {
    const old = node.client;
    node.client = open(chosen);
    // Calls already on the old pool finish there; one hung on a node that cannot commit is cut off.
    old.end({ timeout: 5 }).catch(() => {});
  });
  const node: PgNode = { name, role, url: redact(url), client: open(hosts.url), policy: nodePolicy, tracing, shard, hosts };
  return node;
}

function openPg(url: string, role: "primary" | "replica", policy: PolicyTuning, poolSize: number): postgres.Sql {
  return postgres(url, {
    max: poolSize,
    connect_timeout: Math.max(1, Math.ceil((policy.timeoutMs * 2) / 1000)),
    idle_timeout: 60,
    backoff: boundedBackoff,
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
        node.hosts?.nudge();
      });
      if (node.hosts) pending.catch((error: unknown) => (error as { code?: string }).code === READ_ONLY || classifyPgError(error).node ? node.hosts!.nudge() : undefined);
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
  await Promise.all([node.client.end({ timeout: 2 }), node.hosts?.close()]);
}

/** The node's pool after its hosts have been asked just now (at once for a single host), for work done at start. */
export async function settledClient(node: PgNode): Promise<postgres.Sql> {
  await node.hosts?.ask();
  return node.client;
}
