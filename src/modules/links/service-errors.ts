import { InfraError, StatementError } from "../../errors";

/** A code or id clash (two instances sharing an INSTANCE_ID, or an alias already taken). */
export function isUniqueViolation(error: unknown): boolean {
  return error instanceof StatementError && error.sqlState === "23505";
}

/**
 * The node failed, not the statement: another node may take it. That includes a node that
 * answers but refuses writes (a primary being demoted or promoted is read-only for a moment),
 * which retrying on the same node cannot fix but another shard can.
 */
export function isUnavailable(error: unknown): boolean {
  return error instanceof InfraError;
}
