import { spawn, type Subprocess } from "bun";
import { parseArgs } from "node:util";
import { clusterEnvVars, clusterUp, type ClusterState } from "./cluster";

/**
 * `npm start`: the whole local setup in one command. Brings up the local cluster (3 shards,
 * each a Redis plus a PostgreSQL pair under pg_auto_failover; idempotent), then runs the server
 * against it in the foreground. The server starts as soon as every shard's primary takes
 * writes; a new cluster's standbys are made once it is ready (so that their copies do not slow
 * its start) and join in the background: the pairs can fail over once `cluster: up` says so. Ctrl-C stops the server; the cluster keeps running until
 * `npm run cluster down`. Local use: the dashboard, /ws and the metrics are open
 * (OBSERVABILITY_PUBLIC=true unless the env says otherwise), so nothing asks for a key.
 * `--name` and `--base-port` pick another cluster than the default one (bench/start-ready.ts).
 */
const { values: flags } = parseArgs({ args: Bun.argv.slice(2), options: { name: { type: "string" }, "base-port": { type: "string" } } });
const t0 = performance.now();
const log = (line: string) => console.log(`cluster: ${line}`);
let server: Subprocess | null = null;

/** Starts the server and resolves once it reports ready (or after a minute: its log says why). */
async function startServer(state: ClusterState): Promise<void> {
  const env: Record<string, string | undefined> = { OBSERVABILITY_PUBLIC: "true", ...process.env, ...clusterEnvVars(state) };
  const port = env.PORT ?? "8080";
  const host = env.HOST ?? "127.0.0.1";
  console.log(`server: starting on http://${host}:${port} — dashboard at http://${host}:${port}/dashboard/ (${seconds()} after start)`);
  server = spawn({ cmd: [process.execPath, "src/main.ts"], cwd: `${import.meta.dir}/..`, env, stdio: ["inherit", "inherit", "inherit"] });
  const ready = `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}/health/ready`;
  for (const deadline = Date.now() + 60_000; Date.now() < deadline && server.exitCode === null; await Bun.sleep(100)) {
    if (await fetch(ready, { signal: AbortSignal.timeout(2000) }).then((r) => r.ok, () => false)) {
      console.log(`server: ready ${seconds()} after start`);
      return;
    }
  }
}

const seconds = () => `${((performance.now() - t0) / 1000).toFixed(1)} s`;

// Ctrl-C already reaches the server (same process group); a second SIGINT would force it to quit
// without draining, so only SIGTERM, which is sent to us alone, is passed on.
process.on("SIGINT", () => {});
process.on("SIGTERM", () => server?.kill("SIGTERM"));
try {
  const basePort = flags["base-port"] === undefined ? undefined : Number(flags["base-port"]);
  const state = await clusterUp({ name: flags.name, basePort, log, onWritable: startServer, migrate: false });
  log(`up in ${seconds()}${state.engine ? ": every standby in sync, automatic failover armed" : ""}`);
} catch (error) {
  // With the server running, a standby that failed to join leaves its shard without failover, not down.
  console.error(`cluster: ${(error as Error).message}`);
  if (server === null) process.exit(1);
  console.error("cluster: the server keeps running; `npm run cluster -- up` retries, `npm run cluster -- status` shows the nodes");
}
process.exit(await server!.exited);
