import { createHash } from "node:crypto";
import { chmodSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Running external commands, as the `postgres` OS user when we are root (PostgreSQL refuses root). */

export const isRoot = (): boolean => process.getuid?.() === 0;

export const PG_OS_USER = "postgres";

/** The argv that runs `argv` as the PostgreSQL OS user: `runuser -u postgres -- ...` under root. */
export function asPgUser(argv: string[]): string[] {
  return isRoot() ? ["runuser", "-u", PG_OS_USER, "--", ...argv] : argv;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs argv to completion (killed after timeoutMs) and returns its exit code and output. */
export async function run(argv: string[], opts: { cwd?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  const proc = Bun.spawn(argv, { cwd: opts.cwd, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => proc.kill("SIGKILL"), opts.timeoutMs ?? 120_000);
  try {
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    return { code, stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
}

/** Like run, but throws with the command and its stderr when it exits non-zero. */
export async function runOk(argv: string[], opts: { cwd?: string; timeoutMs?: number; hint?: () => string } = {}): Promise<RunResult> {
  const res = await run(argv, opts);
  if (res.code !== 0) {
    const out = (res.stderr.trim() || res.stdout.trim()).split("\n").slice(-8).join("\n");
    const hint = opts.hint?.() ?? "";
    throw new Error(`command failed (exit ${res.code}): ${argv.join(" ")}\n${out}${hint ? `\n${hint}` : ""}`);
  }
  return res;
}

/** Gives the PostgreSQL OS user a folder (data dirs must be owned by the server's user). */
export async function chownToPgUser(path: string): Promise<void> {
  if (isRoot()) await runOk(["chown", "-R", `${PG_OS_USER}:${PG_OS_USER}`, path]);
}

/**
 * A folder for node data that the postgres OS user can reach. Under root, PostgreSQL runs as
 * `postgres`, which cannot enter a checkout inside a private folder (a `mktemp -d` clone is
 * 0700); the nodes then live in a world-traversable folder under the system temp dir, keyed by
 * the cluster's own folder, while state.json stays in the checkout.
 */
export async function pgReachableDir(dir: string, name: string): Promise<string> {
  if (!isRoot() || (await run(asPgUser(["test", "-x", dir]))).code === 0) return dir;
  const key = createHash("sha256").update(dir).digest("hex").slice(0, 12);
  const alt = join(tmpdir(), "shorten-clusters", `${name}-${key}`);
  mkdirSync(alt, { recursive: true, mode: 0o755 });
  chmodSync(join(tmpdir(), "shorten-clusters"), 0o755);
  chmodSync(alt, 0o755);
  return alt;
}
