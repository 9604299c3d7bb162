import { spawn, type Subprocess } from "bun";
import { createServer } from "node:net";

export { eventually } from "./eventually";

const ROOT = new URL("..", import.meta.url).pathname;
const BUN = process.execPath;

/**
 * Ports handed out in this process. The kernel may give a port again once its server is gone,
 * and Bun's fetch keeps idle connections per host and port: a new server on an old server's port
 * could be reached over a stale pooled socket (ECONNRESET on its first request, seen in CI).
 */
const handedOut = new Set<number>();

/** A free TCP port on loopback, from the kernel, never one this process was given before. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = createServer();
      srv.once("error", reject);
      srv.listen(0, "127.0.0.1", () => {
        const port = (srv.address() as { port: number }).port;
        srv.close(() => resolve(port));
      });
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

export interface ServerProcess {
  port: number;
  url: string;
  proc: Subprocess;
  output: () => string;
  stop(signal?: NodeJS.Signals): Promise<number>;
}

/**
 * Starts `bun src/main.ts` (or `options.entry`, a benchmark's variant of it) as a real process on
 * a free port and waits until /health/ready says 200. `env` is added to the cluster env the test
 * runner provides.
 *
 * @example const s = await startServer({ INSTANCE_ID: "1" }); await fetch(`${s.url}/health/live`); await s.stop();
 */
export async function startServer(env: Record<string, string> = {}, options: { waitReady?: boolean; port?: number; entry?: string } = {}): Promise<ServerProcess> {
  for (let attempt = 1; ; attempt++) {
    const server = spawnServer(env, options.port ?? (await freePort()), options.entry ?? "src/main.ts");
    if (!(options.waitReady ?? true)) return server;
    try {
      await waitReady(server);
      return server;
    } catch (error) {
      // A port from freePort is free when handed out, but the kernel may give it to an outgoing
      // connection before the server binds it (both come from the ephemeral range): take another.
      if (options.port !== undefined || attempt >= 3 || !/EADDRINUSE|PORT \d+ is already in use/.test(server.output())) throw error;
    }
  }
}

function spawnServer(env: Record<string, string>, port: number, entry: string): ServerProcess {
  let out = "";
  const proc = spawn({
    cmd: [BUN, entry],
    cwd: ROOT,
    // Observability is open unless the caller closes it (the access tests do): most tests and benches watch the stream.
    env: { ...process.env, HOST: "127.0.0.1", PORT: String(port), LOG_LEVEL: "warn", OBSERVABILITY_PUBLIC: "true", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) out += new TextDecoder().decode(chunk);
  };
  void collect(proc.stdout as ReadableStream<Uint8Array>);
  void collect(proc.stderr as ReadableStream<Uint8Array>);
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    proc,
    output: () => out,
    async stop(signal: NodeJS.Signals = "SIGTERM") {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return proc.exited;
    },
  };
}

export async function waitReady(server: ServerProcess, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (server.proc.exitCode !== null) throw new Error(`server exited with ${server.proc.exitCode}: ${server.output()}`);
    try {
      const res = await fetch(`${server.url}/health/ready`, { signal: AbortSignal.timeout(1000) });
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await Bun.sleep(100);
  }
  throw new Error(`server on ${server.port} not ready after ${timeoutMs} ms: ${server.output()}`);
}
