import { spawn } from "bun";
import { onCleanup } from "./cleanup";
import { cpuMs } from "./cpu";
import { BUN, ROOT } from "./proc";

/** A line the mover printed and when it arrived (performance.now() of this process). */
export interface MoverLine {
  t: number;
  line: string;
  /** The mover's CPU ms so far (stdout lines only). */
  cpuMs?: number;
}

export interface MoverRun {
  pid: number;
  /** stdout lines (phase changes and step reports), timestamped on arrival. */
  lines: MoverLine[];
  /** The last stderr lines (progress bars, one line per scan track every tick). */
  progress: MoverLine[];
  startedAt: number;
  /** Exit code; stdout is complete by then. */
  done: Promise<number>;
}

/** A mover that has not finished after this long is killed (it waits forever for a stuck instance's ack). */
export const MOVER_TIMEOUT_MS = 10 * 60_000;

/**
 * `bun scripts/reshard.ts <args>` as an operator runs it, with the cluster env, its output
 * timestamped line by line so phases can be lined up with the load measured meanwhile.
 * Registered for teardown (SIGKILL: the catalog keeps its checkpoints).
 */
export function startMover(args: readonly string[], env: Record<string, string>): MoverRun {
  const proc = spawn({ cmd: [BUN, "scripts/reshard.ts", ...args], cwd: ROOT, env: { ...process.env, ...env }, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const run: Omit<MoverRun, "done"> = { pid: proc.pid, lines: [], progress: [], startedAt: performance.now() };
  const read = async (stream: ReadableStream<Uint8Array>, sink: (l: MoverLine) => void) => {
    const decoder = new TextDecoder();
    let rest = "";
    for await (const chunk of stream) {
      const t = performance.now();
      const parts = (rest + decoder.decode(chunk, { stream: true })).split("\n");
      rest = parts.pop()!;
      for (const line of parts) if (line.trim() !== "") sink({ t, line });
    }
    if (rest.trim() !== "") sink({ t: performance.now(), line: rest });
  };
  const streams = Promise.all([
    read(proc.stdout, (l) => run.lines.push({ ...l, cpuMs: cpuMs(proc.pid) })),
    read(proc.stderr, (l) => {
      run.progress.push(l);
      if (run.progress.length > 4000) run.progress.splice(0, 2000);
    }),
  ]);
  const undo = onCleanup(`reshard ${args.join(" ")}`, async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
    await proc.exited;
  });
  const timer = setTimeout(() => {
    run.lines.push({ t: performance.now(), line: `bench: killed after ${MOVER_TIMEOUT_MS / 1000} s` });
    proc.kill("SIGKILL");
  }, MOVER_TIMEOUT_MS);
  const done = (async () => {
    const code = await proc.exited;
    clearTimeout(timer);
    await streams;
    void undo();
    return code;
  })();
  return { ...run, done };
}

export interface PhaseMark {
  version: number;
  phase: string;
  t: number;
}

/** What the mover's stdout says about one migration (see src/topology/mover/coordinator.ts). */
export interface MoverFigures {
  migrationId: string | null;
  phases: PhaseMark[];
  /** From `ring vN: copy` to `copy: N row(s) written`. */
  copy: { start: number; end: number; seconds: number; written: number; moverCores: number | null } | null;
  verify: { pairs: number; moved: number; caughtUp: number; differences: number } | null;
  cleanup: { deleted: number; cacheKeys: number; kept: number } | null;
  /** `done in Xs` as the mover measured itself. */
  doneSeconds: number | null;
}

export function moverFigures(run: Pick<MoverRun, "lines">): MoverFigures {
  const f: MoverFigures = { migrationId: null, phases: [], copy: null, verify: null, cleanup: null, doneSeconds: null };
  let copyStart: number | null = null;
  let copyCpu: number | undefined;
  for (const { t, line, cpuMs: cpu } of run.lines) {
    let m: RegExpExecArray | null;
    if ((m = /^(m-\S+): ring /.exec(line))) f.migrationId = m[1]!;
    else if ((m = /^resuming (\S+) /.exec(line))) f.migrationId = m[1]!;
    else if ((m = /^ring v(\d+): (\w+)/.exec(line))) {
      f.phases.push({ version: Number(m[1]), phase: m[2]!, t });
      if (m[2] === "copy") [copyStart, copyCpu] = [t, cpu];
    } else if ((m = /^copy: (\d+) row\(s\) written/.exec(line)) && copyStart !== null) {
      const cores = cpu !== undefined && copyCpu !== undefined && t > copyStart ? (cpu - copyCpu) / (t - copyStart) : null;
      f.copy = { start: copyStart, end: t, seconds: (t - copyStart) / 1000, written: Number(m[1]), moverCores: cores };
    }
    else if ((m = /^verify: (\d+) pair\(s\), (\d+) moved row\(s\), (\d+) caught up, (\d+) difference\(s\)/.exec(line))) f.verify = { pairs: Number(m[1]), moved: Number(m[2]), caughtUp: Number(m[3]), differences: Number(m[4]) };
    else if ((m = /^cleanup: (\d+) row\(s\) and (\d+) cache key\(s\) deleted from old owners, (\d+) kept/.exec(line))) f.cleanup = { deleted: Number(m[1]), cacheKeys: Number(m[2]), kept: Number(m[3]) };
    else if ((m = /^done in ([\d.]+)s/.exec(line))) f.doneSeconds = Number(m[1]);
  }
  return f;
}

/** [start, end) of each phase the mover entered, the last one until `endT`. */
export function phaseWindows(phases: readonly PhaseMark[], endT: number): Array<{ phase: string; version: number; start: number; end: number }> {
  return phases.map((p, i) => ({ phase: p.phase, version: p.version, start: p.t, end: phases[i + 1]?.t ?? endT }));
}
