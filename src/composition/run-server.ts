import { parseConfig } from "../config";
import { ConfigError } from "../errors";
import { compose, type ComposeOptions } from "./server";
import { installShutdown } from "../lifecycle/shutdown";
import { survivingNodeFaults } from "../lifecycle/library-races";
import { createLogger } from "../observability/logger";

/**
 * The server process: the config from the env (a bad one stops start-up with one line naming the
 * variable), the composition root, the listeners, the shutdown on SIGTERM, then start. main.ts
 * runs it as shipped; a benchmark entry may pass `options` (bench/lib/header-reads-server.ts).
 */
export async function runServer(options: ComposeOptions = {}): Promise<void> {
  const parsed = parseConfig(process.env);
  if (!parsed.ok) {
    console.error(parsed.message);
    process.exit(1);
  }
  const config = parsed.config;
  const logger = createLogger(config.LOG_LEVEL, { instance: config.INSTANCE_ID });
  const fatal = survivingNodeFaults((message, error) => logger.warn(message, { error }));
  process.on("uncaughtException", fatal);
  process.on("unhandledRejection", fatal);
  const system = await compose(config, logger, options);

  let server: ReturnType<typeof system.listen>;
  try {
    server = system.listen(config.HOST, config.PORT);
  } catch (error) {
    exitListenFailure(error, `PORT ${config.PORT} is already in use on ${config.HOST}`);
  }
  try {
    system.listenMetrics();
  } catch (error) {
    exitListenFailure(error, `METRICS_PORT ${config.METRICS_PORT} is already in use on ${config.METRICS_HOST}`);
  }
  installShutdown(
    {
      stopAccepting: () => system.stopAccepting(),
      // Bun's graceful stop waits for open WebSockets, so they are closed once it stops accepting.
      stopServer: () => {
        const stopped = server.stop(false);
        system.closeStreams();
        return stopped;
      },
      closeResources: () => system.close(),
    },
    { drainMs: config.SHUTDOWN_DRAIN_MS, graceMs: config.SHUTDOWN_GRACE_MS, logger, exit: (code) => process.exit(code) },
  );
  // `npm start` runs the server while its cluster comes up: loaded, composed and listening (not
  // ready) at once, it starts (migrations, the ring, the id buffers) when a line on stdin says the
  // primaries take writes.
  if (Bun.argv.includes("--start-after-stdin-line")) await firstLine(Bun.stdin.stream());
  await system.start().catch((error: unknown) => {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`config: ${error.message}`);
    process.exit(1);
  });
  logger.info("listening", { url: config.PUBLIC_BASE_URL, shards: config.shards.length });
}

function exitListenFailure(error: unknown, inUse: string): never {
  const code = (error as { code?: string }).code;
  console.error(code === "EADDRINUSE" ? `config: ${inUse}` : `startup: ${(error as Error).message}`);
  process.exit(1);
}

/** Resolves at the first newline, or when the stream ends. */
async function firstLine(stream: ReadableStream<Uint8Array>): Promise<void> {
  for await (const chunk of stream) if (chunk.includes(10)) return;
}
