import { spawn, type Subprocess } from "bun";
import { parseArgs } from "node:util";
import { clusterEnvVars, clusterUp, type ClusterState } from "./cluster";

/**
 * `npm start`: the whole local setup in one command. Brings up the local cluster (3 shards,
 * each a Redis plus a PostgreSQL pair under pg_auto_failover; idempotent), then runs the server
 * against it in the foreground. The server is launched as soon as the nodes' addresses are
 * known and starts once every shard's primary takes writes; a new cluster's standbys are made once it is ready (so that their copies do not slow
 * its start) and join in the background: the pairs can fail over once `cluster: up` says so. Ctrl-C stops the server; the cluster keeps running until
 * `npm run cluster down`. Local use: the dashboard, /ws and the metrics are open
 * (OBSERVABILITY_PUBLIC=true unless the env says otherwise), so nothing asks for a key.
 * `--name` and `--base-port` pick another cluster than the default one (bench/start-ready.ts).
 */
const { values: flags } = parseArgs({ args: Bun.argv.slice(2), options: { name: { type: "string" }, "base-port": { type: "string" } } });
const t0 = performance.now();
const log = (line: string) => console.log(`cluster: ${line}`);
let server: Subprocess<"pipe", "inherit", "inherit"> | null = null;
let readyUrl = "";
let started = false;

/**
 * Launches the server as soon as the nodes' addresses are known: it loads, composes and listens
 * while the cluster comes up (about half of its start-up time), and waits for a line on stdin
 * before it starts (startServer).
 */
function launchServer(state: ClusterState): void {
  const env: Record<string, string | undefined> = { OBSERVABILITY_PUBLIC: "true", ...process.env, ...clusterEnvVars(state) };
  const port = env.PORT ?? "8080";
  const host = env.HOST ?? "127.0.0.1";
  readyUrl = `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}/health/ready`;
  console.log(`server: loading, on http://${host}:${port} — dashboard at http://${host}:${port}/dashboard/`);
  server = spawn({ cmd: [process.execPath, "src/main.ts", "--start-after-stdin-line"], cwd: `${import.meta.dir}/..`, env, stdio: ["pipe", "inherit", "inherit"] });
}

/** The primaries take writes: the server starts; resolves once it reports ready (or after a minute: its log says why). */
async function startServer(): Promise<void> {
  console.log(`server: starting (${seconds()} after start)`);
  started = true;
  server!.stdin.write("start\n");
  await server!.stdin.end();
  for (const deadline = Date.now() + 60_000; Date.now() < deadline && server!.exitCode === null; await Bun.sleep(100)) {
    if (await fetch(readyUrl, { signal: AbortSignal.timeout(2000) }).then((r) => r.ok, () => false)) {
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
  const state = await clusterUp({ name: flags.name, basePort, log, onPlanned: launchServer, onWritable: startServer, migrate: false });
  log(`up in ${seconds()}${state.engine ? ": every standby in sync, automatic failover armed" : ""}`);
} catch (error) {
  // With the server running, a standby that failed to join leaves its shard without failover, not down.
  console.error(`cluster: ${(error as Error).message}`);
  // A server still waiting for its cluster has nothing to serve.
  if (!started) {
    (server as Subprocess | null)?.kill("SIGTERM");
    process.exit(1);
  }
  console.error("cluster: the server keeps running; `npm run cluster -- up` retries, `npm run cluster -- status` shows the nodes");
}
process.exit(await server!.exited);
