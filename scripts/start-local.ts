import { spawn } from "bun";
import { clusterEnvVars, clusterUp } from "./cluster";

/**
 * `npm start`: the whole local setup in one command. Brings up the local cluster (3 shards,
 * each a Redis plus a PostgreSQL primary with a streaming replica; idempotent), then runs the
 * server against it in the foreground. Ctrl-C stops the server; the cluster keeps running
 * until `npm run cluster down`. Local use: the dashboard, /ws and the metrics are open
 * (OBSERVABILITY_PUBLIC=true unless the env says otherwise), so nothing asks for a key.
 */
const state = await clusterUp({ log: (line) => console.log(`cluster: ${line}`) });
const env: Record<string, string | undefined> = { OBSERVABILITY_PUBLIC: "true", ...process.env, ...clusterEnvVars(state) };
const port = env.PORT ?? "8080";
const host = env.HOST ?? "127.0.0.1";
console.log(`server: starting on http://${host}:${port} — dashboard at http://${host}:${port}/dashboard/`);
const server = spawn({ cmd: [process.execPath, "src/main.ts"], cwd: `${import.meta.dir}/..`, env, stdio: ["inherit", "inherit", "inherit"] });
// Ctrl-C already reaches the server (same process group); a second SIGINT would force it to quit
// without draining, so only SIGTERM, which is sent to us alone, is passed on.
process.on("SIGINT", () => {});
process.on("SIGTERM", () => server.kill("SIGTERM"));
process.exit(await server.exited);
