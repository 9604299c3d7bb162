import { expect, test } from "bun:test";
import { spawn } from "bun";
import { createServer } from "node:net";
import { clusterNodesEnv } from "../../harness/system";
import { freePort } from "../../harness/server-process";

const ROOT = new URL("../../", import.meta.url).pathname;

async function boot(env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !["DATABASE_NODES", "DB_NODES", "REDIS_NODES"].includes(k)));
  const proc = spawn({ cmd: [process.execPath, "src/main.ts"], cwd: ROOT, env: { ...clean, ...env }, stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 15_000);
  const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
  clearTimeout(timer);
  return { code, stderr };
}

test("misconfiguration stops start-up with one line naming the variable", async () => {
  const { code, stderr } = await boot({ REDIS_NODES: "redis://127.0.0.1:1" });
  expect(code).toBe(1);
  expect(stderr.trim()).toBe("config: DATABASE_NODES (or DB_NODES) is missing");
});

test("mismatched shard counts stop start-up", async () => {
  const { DATABASE_NODES } = clusterNodesEnv();
  const { code, stderr } = await boot({ DATABASE_NODES, REDIS_NODES: "redis://127.0.0.1:1" });
  expect(code).toBe(1);
  expect(stderr.trim()).toMatch(/^config: REDIS_NODES has 1 URLs but DATABASE_NODES describes \d+ shards/);
});

test("a port already in use is one clear line naming the port", async () => {
  const port = await freePort();
  const blocker = createServer().listen(port, "127.0.0.1");
  try {
    const { code, stderr } = await boot({ ...clusterNodesEnv(), PORT: String(port) });
    expect(code).toBe(1);
    expect(stderr.trim()).toBe(`config: PORT ${port} is already in use on 127.0.0.1`);
  } finally {
    blocker.close();
  }
});

test("a BLOCKLIST_FILE that cannot be read, or has a wrong line, stops start-up with one line naming it", async () => {
  const missing = `/tmp/shorten-no-such-blocklist-${process.pid}.txt`;
  const absent = await boot({ ...clusterNodesEnv(), PORT: String(await freePort()), BLOCKLIST_FILE: missing });
  expect(absent.code).toBe(1);
  expect(absent.stderr.trim()).toStartWith(`config: BLOCKLIST_FILE ${missing} cannot be read: `);
  expect(absent.stderr.trim().split("\n")).toHaveLength(1);
  const wrong = `/tmp/shorten-wrong-blocklist-${process.pid}.txt`;
  await Bun.write(wrong, "evil.example\ncom\n");
  const bad = await boot({ ...clusterNodesEnv(), PORT: String(await freePort()), BLOCKLIST_FILE: wrong });
  expect([bad.code, bad.stderr.trim()]).toEqual([1, `config: BLOCKLIST_FILE ${wrong} line 2: give a domain with at least two labels (or an IP address)`]);
}, 40_000);
