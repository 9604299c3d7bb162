import { AppError, InfraError } from "../../errors";

/** A code or id clash (two instances sharing an INSTANCE_ID, or an alias already taken). */
export function isUniqueViolation(error: unknown): boolean {
  return error instanceof InfraError && (error.cause as { code?: unknown } | undefined)?.code === "23505";
}

/** A node that did not answer: another node may. */
export function isUnavailable(error: unknown): boolean {
  return error instanceof InfraError && error.transient;
}

/** What a service lets out: its own errors as they are, storage trouble as a retryable 503. */
export function asServiceError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof InfraError) {
    return new AppError("storage-unavailable", "storage is temporarily unavailable; try again", { retryable: true, retryAfterSeconds: 1, cause: error });
  }
  return new AppError("internal", "internal error", { cause: error });
}
