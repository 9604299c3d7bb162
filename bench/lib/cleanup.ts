/**
 * Teardown that always runs: every resource the runner starts registers an undo step here, and
 * `runCleanup` runs them newest first, on success, on error and on SIGINT/SIGTERM/SIGHUP.
 *
 * @example
 *   const undo = onCleanup("floor server", () => proc.kill());
 *   ...; undo(); // done with it early
 */

type Step = { what: string; run: () => unknown };
const steps: Step[] = [];
let running: Promise<void> | null = null;
let interrupted: NodeJS.Signals | null = null;

export function onCleanup(what: string, run: () => unknown): () => Promise<void> {
  const step = { what, run };
  steps.push(step);
  return async () => {
    const i = steps.indexOf(step);
    if (i < 0) return;
    steps.splice(i, 1);
    await runStep(step);
  };
}

export function runCleanup(): Promise<void> {
  running ??= (async () => {
    while (steps.length > 0) await runStep(steps.pop()!);
  })();
  return running;
}

async function runStep(step: Step): Promise<void> {
  try {
    await Promise.race([Promise.resolve(step.run()), Bun.sleep(30_000).then(() => Promise.reject(new Error("timed out after 30 s")))]);
  } catch (error) {
    console.error(`bench: cleanup of ${step.what} failed: ${(error as Error).message}`);
  }
}

export function wasInterrupted(): NodeJS.Signals | null {
  return interrupted;
}

/** On a signal: tear everything down, then exit 130. */
export function installSignalCleanup(): void {
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(sig, () => {
      if (interrupted) return;
      interrupted = sig;
      console.error(`\nbench: ${sig}, tearing down...`);
      void runCleanup().finally(() => process.exit(130));
    });
  }
}
