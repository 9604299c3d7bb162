/**
 * The closed set of error codes a client can see, each with its HTTP status. Codes are stable
 * strings (clients match on them); messages are for people. Only the HTTP error handler turns
 * an AppError into a response.
 */
export const ERROR_STATUS = {
  "invalid-json": 400,
  "invalid-body": 400,
  "invalid-url": 400,
  "invalid-query": 400,
  "invalid-value": 400,
  /** A WebSocket message that is not one of the protocol's (the stream answers, the socket stays open). */
  "invalid-message": 400,
  unauthorized: 401,
  /** A password-protected link asked for without its password, or with a wrong one. */
  "password-required": 401,
  forbidden: 403,
  "short-url-not-found": 404,
  "alias-taken": 409,
  /** DELETE of a blocklist entry that BLOCKLIST_FILE holds: the file is where it changes. */
  "blocklist-file-entry": 409,
  "not-blocked": 404,
  "link-gone": 410,
  /** An admin disabled the link (abuse); the message says why. */
  "link-disabled": 410,
  "payload-too-large": 413,
  /** The link's target is on the blocklist (RFC 7725: unavailable for legal reasons). */
  "link-blocked": 451,
  /** A create or edit names a URL whose host is on the blocklist. */
  "blocked-url": 400,
  "unsupported-media-type": 415,
  "rate-limited": 429,
  "route-not-found": 404,
  "storage-unavailable": 503,
  "not-ready": 503,
  internal: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class AppError extends Error {
  override readonly name = "AppError";
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly options: { retryable?: boolean; retryAfterSeconds?: number; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.status = ERROR_STATUS[code];
  }

  get retryable(): boolean {
    return this.options.retryable ?? this.status >= 500;
  }
}

/**
 * A failure of a Redis or PostgreSQL node: unreachable, timed out, shutting down, out of
 * connections, or the breaker skipping it. Another node may answer. `transient` says whether
 * the same call on the same node may succeed later (a demoted primary refusing writes will not).
 */
/** A setting that turns out wrong only when the server starts (a file it names cannot be read): start-up stops with its message. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

export class InfraError extends Error {
  override readonly name = "InfraError";
  constructor(
    readonly node: string,
    message: string,
    readonly transient: boolean,
    cause?: unknown,
  ) {
    super(`${node}: ${message}`, { cause });
  }
}

/**
 * No pre-generated short code for a shard within the wait: the worker pool is failing or the
 * id source is closed. Not the client's doing, and gone once the pool refills.
 */
export class NoTicketError extends Error {
  override readonly name = "NoTicketError";
  constructor(
    readonly shard: number,
    message: string,
    cause?: unknown,
  ) {
    super(message, { cause });
  }
}

/**
 * A call the node answered with a refusal of the statement itself: a value it cannot take
 * (SQLSTATE class 22), a constraint (23), SQL or a command that is wrong, or a value the client
 * library could not serialise. It would fail on any node, so it never counts against one.
 * `sqlState` is PostgreSQL's code when there is one.
 */
export class StatementError extends Error {
  override readonly name = "StatementError";
  constructor(
    readonly node: string,
    message: string,
    readonly sqlState: string | null,
    cause?: unknown,
  ) {
    super(`${node}: ${message}`, { cause });
  }

  /** A data exception: a value in the statement (from the request, if validation let it through) is malformed or out of range. */
  get isDataError(): boolean {
    return this.sqlState?.startsWith("22") ?? false;
  }
}

/**
 * What a service lets out, and what the HTTP error handler makes of anything thrown: our own
 * errors as they are, a node's trouble (or no short code ready yet) as a retryable 503, a value
 * the database refused as the client's 400 (validation should have caught it first; the cause is
 * kept for the log), and anything else as a logged 500: it is our bug, and it has already been
 * kept away from every breaker.
 */
export function asServiceError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof InfraError) {
    return new AppError("storage-unavailable", "storage is temporarily unavailable; try again", { retryable: true, retryAfterSeconds: 1, cause: error });
  }
  if (error instanceof NoTicketError) {
    return new AppError("not-ready", error.message, { retryable: true, retryAfterSeconds: 1, cause: error });
  }
  if (error instanceof StatementError && error.isDataError) {
    return new AppError("invalid-value", "a value in the request is malformed or out of range", { cause: error });
  }
  return new AppError("internal", "internal error", { cause: error });
}
