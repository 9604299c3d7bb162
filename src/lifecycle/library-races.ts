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
