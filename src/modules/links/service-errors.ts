import { InfraError, StatementError } from "../../errors";

/** A code or id clash (two instances sharing an INSTANCE_ID, or an alias already taken). */
export function isUniqueViolation(error: unknown): boolean {
  return error instanceof StatementError && error.sqlState === "23505";
}

/** A node that did not answer: another node may. */
export function isUnavailable(error: unknown): boolean {
  return error instanceof InfraError && error.transient;
}
