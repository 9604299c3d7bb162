import type { Logger } from "../observability/logger";

export interface ShutdownSteps {
  /** Readiness turns false so the load balancer stops sending new requests. */
  stopAccepting(): void;
  /** Stop listening and wait for in-flight requests. */
  stopServer(): Promise<void>;
  /** Flush buffered events, close WebSockets with 1001, close pools and workers. */
  closeResources(): Promise<void>;
}

/**
 * Graceful shutdown on SIGTERM/SIGINT: readiness false → wait `drainMs` for the load balancer's
 * health checks to notice → stop the listener and finish in-flight requests → flush and close.
 * `graceMs` bounds the whole thing; a second signal exits at once.
 */
export function installShutdown(steps: ShutdownSteps, options: { drainMs: number; graceMs: number; logger: Logger; exit: (code: number) => void }): void {
  let shuttingDown = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (shuttingDown) {
      options.logger.warn("second signal; exiting now", { signal });
      options.exit(1);
      return;
    }
    shuttingDown = true;
    options.logger.info("shutting down", { signal, drain_ms: options.drainMs });
    const forced = setTimeout(() => {
      options.logger.error("shutdown grace period exceeded; exiting");
      options.exit(1);
    }, options.drainMs + options.graceMs);
    forced.unref?.();
    void (async () => {
      steps.stopAccepting();
      await Bun.sleep(options.drainMs);
      await steps.stopServer();
      await steps.closeResources();
      clearTimeout(forced);
      options.logger.info("stopped");
      options.exit(0);
    })().catch((error: unknown) => {
      options.logger.error("shutdown failed", { error: String(error) });
      options.exit(1);
    });
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
}
