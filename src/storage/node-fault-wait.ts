import { InfraError } from "../errors";
import { classifyPgError } from "./failure-kind";

export interface NodeFaultWait<T> {
  /** One line when the wait starts ("waiting for primary-0: connect ECONNREFUSED …") and when it ends. */
  log: (line: string) => void;
  /** Between attempts. */
  pauseMs: number;
  /** Checked before each attempt: throws to stop waiting (Ctrl-C). */
  check?: () => void;
  /** After a fault: did the last attempt take effect although its answer was lost? Its result if so. */
  landed?: () => Promise<T | null>;
  /** After a fault was waited out, before the result is returned. */
  resumed?: () => Promise<void>;
  /** Give up after this long (ms), with the node's last error; forever when absent. */
  giveUpAfterMs?: number;
}

/**
 * Runs `step` until it gets through a node fault: a node that is down, restarting, read-only or
 * failing over (any of the storage's node errors) pauses the caller with one line, and `step`
 * runs again once the node, or the standby promoted in its place, answers. What a long-running
 * process (the mover, a key command) does instead of dying of a node's failure. Any other error
 * is the step's own and is thrown at once.
 *
 * @example
 *   await waitOutNodeFaults(() => copyBatch(), { log: console.log, pauseMs: 1000 });
 */
export async function waitOutNodeFaults<T>(step: () => Promise<T>, options: NodeFaultWait<T>): Promise<T> {
  const started = Date.now();
  let waiting = "";
  for (;;) {
    options.check?.();
    try {
      const done = waiting !== "" && options.landed ? await options.landed() : null;
      const result = done ?? (await step());
      if (waiting !== "") {
        options.log("the node answers again: continuing");
        await options.resumed?.();
      }
      return result;
    } catch (error) {
      const fault = nodeFault(error);
      if (fault === null) throw error;
      if (options.giveUpAfterMs !== undefined && Date.now() - started >= options.giveUpAfterMs) throw error;
      if (fault !== waiting) options.log(`waiting for ${fault}`);
      waiting = fault;
      await Bun.sleep(options.pauseMs);
    }
  }
}

/** What a node's failure says ("primary-0: timed out after 15000 ms"); null for any other error. */
export function nodeFault(error: unknown): string | null {
  if (error instanceof InfraError) return error.message;
  if (error instanceof Error && classifyPgError(error).node) return `storage: ${error.message}`;
  return null;
}
