import { spawn, type Subprocess } from "bun";
import { onCleanup } from "./cleanup";

export const ROOT = new URL("../../", import.meta.url).pathname;
export const BUN = process.execPath;

export interface Child {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code; stdout and stderr are complete by then. */
  done: Promise<number>;
  /** SIGTERM (then SIGKILL after graceMs) and wait. */
  stop(graceMs?: number): Promise<number>;
}

/**
 * Spawns a helper process, collects its output and registers it for teardown, so no child
 * outlives the runner even when a scenario throws.
 *
 * @example const c = startChild("wrk", ["wrk", "-c4", url]); const code = await c.done; c.stdout();
 */
export function startChild(what: string, cmd: string[], options: { env?: Record<string, string>; cwd?: string } = {}): Child {
  const proc = spawn({ cmd, cwd: options.cwd ?? ROOT, env: { ...process.env, ...options.env }, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  let out = "";
  let err = "";
  const read = async (stream: ReadableStream<Uint8Array>, sink: (s: string) => void) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) sink(decoder.decode(chunk, { stream: true }));
  };
  const streams = Promise.all([read(proc.stdout, (s) => (out += s)), read(proc.stderr, (s) => (err = (err + s).slice(-200_000)))]);
  const done = (async () => {
    const code = await proc.exited;
    await streams;
    return code;
  })();
  const stop = async (graceMs = 5000) => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), graceMs);
      await proc.exited;
      clearTimeout(timer);
    }
    return done;
  };
  const undo = onCleanup(what, () => stop());
  void done.then(() => undo());
  return { proc, stdout: () => out, stderr: () => err, done, stop };
}

/** Runs a helper to completion and returns the JSON object from its last `BENCH_JSON ` line. */
export async function runJsonChild<T>(what: string, cmd: string[], options: { env?: Record<string, string> } = {}): Promise<T> {
  const child = startChild(what, cmd, options);
  const code = await child.done;
  const parsed = lastJsonLine<T>(child.stdout());
  if (parsed === null) throw new Error(`${what} exited ${code} without a BENCH_JSON line:\n${child.stdout().slice(-2000)}\n${child.stderr().slice(-2000)}`);
  return parsed;
}

export function lastJsonLine<T>(text: string): T | null {
  const lines = text.split("\n").filter((l) => l.startsWith("BENCH_JSON "));
  const last = lines[lines.length - 1];
  return last === undefined ? null : (JSON.parse(last.slice("BENCH_JSON ".length)) as T);
}

/** Polls url until it answers `status` (default 200). */
export async function waitHttp(url: string, timeoutMs = 20_000, status = 200): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000), redirect: "manual" });
      await res.arrayBuffer();
      if (res.status === status) return;
      last = `status ${res.status}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await Bun.sleep(100);
  }
  throw new Error(`${url} not answering ${status} after ${timeoutMs} ms (${last})`);
}

export async function commandVersion(cmd: string[]): Promise<string> {
  try {
    const p = spawn({ cmd, stdout: "pipe", stderr: "pipe" });
    const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
    await p.exited;
    return (out || err).split("\n")[0]!.trim();
  } catch {
    return "not found";
  }
}
