/**
 * Which failures of a storage call are the node's and which are the statement's: the one place
 * that decides what a circuit breaker counts and what a retry may repeat.
 *
 * A node failure (it cannot be reached, it timed out, it is shutting down or starting, it is out
 * of connections or memory, a demoted primary refuses a write) says the node is unhealthy: the
 * breaker counts it and another node may answer. A statement failure (a value PostgreSQL cannot
 * take, a constraint, SQL or a Redis command that is wrong, or a value the client library
 * cannot even serialise) is caused by what was sent: it would fail on any node, says nothing
 * about this one, and must never open a breaker, or one client's bad input takes a shard away
 * from everybody. Anything not recognised as the node's is the statement's: a breaker opened
 * by a bug is an outage; a bug surfaced as an error is a bug report.
 *
 * @example
 *   classifyPgError(Object.assign(new Error("x"), { code: "57P01" })) // { node: true, retryable: true }
 *   classifyPgError(new RangeError("Invalid Date"))                   // { node: false, retryable: false }
 */
export interface FailureKind {
  /** The node is unhealthy: count it against the node's breaker. */
  readonly node: boolean;
  /** The same call may succeed when tried again. */
  readonly retryable: boolean;
}

const NODE: FailureKind = { node: true, retryable: true };
const NODE_FINAL: FailureKind = { node: true, retryable: false };
const STATEMENT: FailureKind = { node: false, retryable: false };
const CONTENTION: FailureKind = { node: false, retryable: true };

/** Socket-level error codes from Node/Bun and the connection errors postgres.js raises itself. */
const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ENOTCONN",
  "CONNECTION_CLOSED",
  "CONNECTION_DESTROYED",
  "CONNECTION_ENDED",
  "CONNECT_TIMEOUT",
]);

/**
 * SQLSTATE classes of the server's condition, not the statement's: 08 connection exception,
 * 28 and 3D (the node does not accept our role or database: misconfigured or replaced), 53
 * insufficient resources (too many connections, disk full, out of memory), 57 operator
 * intervention (shutdown, crash recovery, "cannot connect now", cancelled by the server), 58
 * system error (I/O), XX internal error.
 */
const NODE_SQLSTATE_CLASSES = new Set(["08", "28", "3D", "53", "57", "58", "XX"]);

export function classifyPgError(error: unknown): FailureKind {
  const code = codeOf(error);
  if (code === undefined) return STATEMENT;
  if (CONNECTION_CODES.has(code)) return NODE;
  if (!/^[0-9A-Z]{5}$/.test(code)) return STATEMENT;
  // A write reached a read-only node (a demoted primary): the node is wrong for writes, and
  // repeating the write on it cannot help.
  if (code === "25006") return NODE_FINAL;
  // Serialization failure and deadlock: the same statement succeeds on a retry, on the same node.
  if (code === "40001" || code === "40P01") return CONTENTION;
  return NODE_SQLSTATE_CLASSES.has(code.slice(0, 2)) ? NODE : STATEMENT;
}

/** Redis error replies that describe the server's state rather than the command. */
const NODE_REPLY_PREFIXES = ["LOADING", "BUSY", "MASTERDOWN", "READONLY", "OOM", "MISCONF", "CLUSTERDOWN", "TRYAGAIN", "NOREPLICAS", "NOAUTH", "WRONGPASS"];

/** ioredis' own messages when the connection is gone (they carry no code). */
const REDIS_CONNECTION_MESSAGES = [/^Connection is closed/, /^Stream isn't writeable/, /connect ETIMEDOUT/, /Reached the max retries per request/];

export function classifyRedisError(error: unknown): FailureKind {
  if (!(error instanceof Error)) return STATEMENT;
  if (error.name === "ReplyError") return NODE_REPLY_PREFIXES.some((p) => error.message.startsWith(p)) ? NODE : STATEMENT;
  const code = codeOf(error);
  if (code !== undefined && CONNECTION_CODES.has(code)) return NODE;
  if (error.name === "MaxRetriesPerRequestError" || REDIS_CONNECTION_MESSAGES.some((m) => m.test(error.message))) return NODE;
  return STATEMENT;
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === "string" ? code : undefined;
}
