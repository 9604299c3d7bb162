import { afterAll, describe, expect, test } from "bun:test";
import { clusterDown, currentPrimary, readState, clusterDir, REPO_ROOT } from "../../scripts/cluster/index";
import { eventually, freePort } from "../../harness/server-process";

/**
 * `npm start` as a user runs it (on a cluster of its own): a new 3-shard cluster under
 * pg_auto_failover, the server launched while the cluster comes up and started once the
 * primaries take writes, the standbys made after it is ready.
 */
const NAME = `start-local-${process.pid}`;
const BASE_PORT = 28_000 + (process.pid % 20) * 100;
let output = "";

afterAll(async () => {
  await clusterDown({ name: NAME, wipe: true });
}, 60_000);

describe("npm start", () => {
  test("serves creates and redirects once ready, arms failover in the background, and stops cleanly on SIGTERM", async () => {
    const port = await freePort();
    const proc = Bun.spawn([process.execPath, "scripts/start-local.ts", "--name", NAME, "--base-port", String(BASE_PORT)], {
      cwd: REPO_ROOT,
      env: { ...process.env, PORT: String(port), METRICS_PORT: String(await freePort()), LOG_LEVEL: "warn", DATABASE_NODES: "", REDIS_NODES: "" },
      stdout: "pipe",
      stderr: "pipe",
    });
    const collect = async (stream: ReadableStream<Uint8Array>) => {
      for await (const chunk of stream) output += new TextDecoder().decode(chunk);
    };
    const reading = Promise.all([collect(proc.stdout as ReadableStream<Uint8Array>), collect(proc.stderr as ReadableStream<Uint8Array>)]);
    try {
      await eventually(() => (/server: ready/.test(output) ? true : undefined), "server: ready", 90_000);
      const created = await fetch(`http://127.0.0.1:${port}/create`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ url: "https://start.example/first" }) });
      expect(created.status).toBe(201);
      const { short_code } = (await created.json()) as { short_code: string };
      const redirect = await fetch(`http://127.0.0.1:${port}/${short_code}`, { redirect: "manual" });
      expect(redirect.status).toBe(302);
      expect(redirect.headers.get("location")).toBe("https://start.example/first");
      await eventually(() => (/automatic failover armed/.test(output) ? true : undefined), "the standbys in sync", 150_000);
      const state = readState(clusterDir(REPO_ROOT, NAME));
      expect(state.engine).toBe("pg_auto_failover");
      for (let shard = 0; shard < state.shards; shard++) expect(await currentPrimary(state, shard)).toBe("primary");
    } finally {
      proc.kill("SIGTERM");
      await proc.exited;
      await reading;
    }
    expect(proc.exitCode, output.split("\n").slice(-20).join("\n")).toBe(0);
  }, 300_000);
});
