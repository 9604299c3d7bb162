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
