/**
 * Polls `check` until it yields a value other than undefined, null or false, and returns it;
 * throws after `timeoutMs` naming `what` and the last error seen.
 *
 * @example const row = await eventually(async () => (await replica`select 1`)[0], "row on the replica");
 */
export async function eventually<T>(check: () => Promise<T | undefined | null | false> | T | undefined | null | false, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== null && value !== false) return value as T;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ""}`);
    await Bun.sleep(50);
  }
}
