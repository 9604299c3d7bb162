import { classifyPgError } from "../storage/failure-kind";

/**
 * postgres.js 3.4 under Bun can throw from a write it scheduled (setImmediate) after its socket
 * was closed (`null is not an object (evaluating 'socket.write')`), when a node dies with queries
 * in flight. The query itself fails through its own promise (and the node policy handles it); the
 * stray throw has no caller, and left alone it would take the whole instance down.
 */
export function isKnownLibraryRace(error: unknown): boolean {
  const stack = error instanceof Error ? `${error.message}\n${error.stack ?? ""}` : "";
  return /socket\.write/.test(stack) && /postgres[\\/](src|cjs[\\/]src)[\\/]connection\.js/.test(stack);
}

/**
 * A storage client's error for a node that failed (a reset or refused connection, a server
 * shutting down) that reached no caller: postgres.js drops some promises of its own when a
 * connection dies under it (seen when a primary was stopped under a create: `read ECONNRESET`,
 * then `connect ECONNREFUSED`, each unhandled, and the instance exited). The calls that mattered
 * fail through their own promises and count against the node's breaker; the stray copy is
 * dropped. Any other unhandled error is a bug and still ends the process.
 */
export function isStrayNodeFailure(error: unknown): boolean {
  return error instanceof Error && classifyPgError(error).node;
}

/**
 * The process-wide handler of every long-running process (server, mover): the known library race
 * and a failed node's stray errors are reported by `warn` and survived; anything else still ends
 * the process, as by default.
 */
export function survivingNodeFaults(warn: (message: string, error: string) => void): (error: unknown) => void {
  return (error) => {
    if (isKnownLibraryRace(error)) return warn("postgres.js wrote to a closed socket (a node died mid-query); the query failed on its own", (error as Error).message);
    if (isStrayNodeFailure(error)) return warn("a storage client's stray error for a failed node was dropped; its calls fail on their own", (error as Error).message);
    console.error(error);
    process.exit(1);
  };
}
