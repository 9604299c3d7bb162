import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { cmdline, isAlive, signal, waitForExit, waitUntil } from "./proc";
import { runOk } from "./exec";
import type { NodeState } from "./state";

/** A Redis node: a daemonized redis-server with no persistence, bound to 127.0.0.1. */

export const redisPidFile = (node: NodeState) => join(node.dir, "redis.pid");

export function redisStartArgv(redisServer: string, node: NodeState): string[] {
  return [
    redisServer,
    "--port", String(node.port),
    "--bind", "127.0.0.1",
    "--save", "",
    "--appendonly", "no",
    "--daemonize", "yes",
    "--pidfile", redisPidFile(node),
    "--logfile", node.logFile,
    "--dir", node.dataDir,
  ];
}

/** Is `pid` the redis-server of this node (not a recycled PID)? */
export function isRedisOf(node: NodeState, pid: number | null | undefined): pid is number {
  return isAlive(pid) && /redis-server/.test(cmdline(pid!)) && cmdline(pid!).includes(`:${node.port}`);
}

/** PID from the node's pid file, when that process is still this node's server. */
export function redisPidFromFile(node: NodeState): number | null {
  try {
    const pid = Number(readFileSync(redisPidFile(node), "utf8").trim());
    return isRedisOf(node, pid) ? pid : null;
  } catch {
    return null;
  }
}

/** Starts the server from node.start and waits until it answers PING; returns its PID. */
export async function startRedis(node: NodeState): Promise<number> {
  mkdirSync(node.dataDir, { recursive: true });
  rmSync(redisPidFile(node), { force: true }); // a stale one would fool the wait below
  await runOk(node.start!.argv, { cwd: node.dir, timeoutMs: 15_000 });
  let pid: number | null = null;
  const up = await waitUntil(async () => (pid ??= redisPidFromFile(node)) !== null && (await redisPing(node.port)), 10_000);
  if (!up || pid === null) throw new Error(`redis on port ${node.port} did not become ready; see ${node.logFile}`);
  return pid;
}

/** SHUTDOWN NOSAVE, falling back to SIGKILL if it does not exit in time (e.g. it is paused). */
export async function stopRedis(node: NodeState, pid: number, mode: "kill" | "graceful"): Promise<void> {
  if (mode === "graceful") {
    signal(pid, "SIGCONT"); // a paused server cannot answer SHUTDOWN
    await redisCommand(node.port, ["SHUTDOWN", "NOSAVE"], 2000).catch(() => {});
    if (await waitForExit(pid, 5000)) return;
  }
  signal(pid, "SIGKILL");
  if (!(await waitForExit(pid, 5000))) throw new Error(`redis pid ${pid} (port ${node.port}) did not exit`);
}

export async function redisPing(port: number, timeoutMs = 500): Promise<boolean> {
  return (await redisCommand(port, ["PING"], timeoutMs).catch(() => "")) === "+PONG";
}

/**
 * Sends one command over RESP and returns the first reply line (no client library needed).
 * SHUTDOWN closes the connection without a reply, which resolves to "".
 */
export function redisCommand(port: number, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect({ port, host: "127.0.0.1" });
    let buf = "";
    const done = (err: Error | null, value = "") => {
      clearTimeout(timer);
      sock.destroy();
      err ? reject(err) : resolve(value);
    };
    const timer = setTimeout(() => done(new Error(`redis :${port} ${args[0]} timed out`)), timeoutMs);
    sock.on("connect", () => sock.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`));
    sock.on("data", (d) => {
      buf += d.toString();
      const eol = buf.indexOf("\r\n");
      if (eol >= 0) done(null, buf.slice(0, eol));
    });
    sock.on("error", (e) => done(e));
    sock.on("close", () => done(null, buf));
  });
}
