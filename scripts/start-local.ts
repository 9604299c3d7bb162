import { spawn } from "bun";
import { clusterEnvVars, clusterUp } from "./cluster";

/**
 * `npm start`: the whole local setup in one command. Brings up the local cluster (3 shards,
 * each a Redis plus a PostgreSQL primary with a streaming replica; idempotent), then runs the
 * server against it in the foreground. Ctrl-C stops the server; the cluster keeps running
 * until `npm run cluster down`.
 */
const state = await clusterUp({ log: (line) => console.log(`cluster: ${line}`) });
const env: Record<string, string | undefined> = { ...process.env, ...clusterEnvVars(state) };
const port = env.PORT ?? "8080";
const host = env.HOST ?? "127.0.0.1";
console.log(`server: starting on http://${host}:${port} — dashboard at http://${host}:${port}/dashboard/`);
const server = spawn({ cmd: [process.execPath, "src/main.ts"], cwd: `${import.meta.dir}/..`, env, stdio: ["inherit", "inherit", "inherit"] });
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => server.kill(signal));
process.exit(await server.exited);
