import { AppError, InfraError, NoTicketError, StatementError } from "../../errors";

/** A code or id clash (two instances sharing an INSTANCE_ID, or an alias already taken). */
export function isUniqueViolation(error: unknown): boolean {
  return error instanceof StatementError && error.sqlState === "23505";
}

/** A node that did not answer: another node may. */
export function isUnavailable(error: unknown): boolean {
  return error instanceof InfraError && error.transient;
}

/**
 * What a service lets out: its own errors as they are, a node's trouble (or no short code ready
 * yet) as a retryable 503, a
 * value the database refused as the client's 400 (validation should have caught it first; the
 * cause is kept for the log), and any other refused statement as a logged 500: it is our bug,
 * and it has already been kept away from every breaker.
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
