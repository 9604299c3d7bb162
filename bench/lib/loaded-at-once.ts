import { mixedLoad, type Sample } from "./mixed-load";

/**
 * Where the two servers' main threads run (one core, shared) and where both wrk processes run.
 * Left to the scheduler, a server and its wrk were often placed together for seconds (threads
 * that talk are woken on one core), and rounds of two identical servers loaded at once came out
 * anywhere from 0.76 to 1.31. On one core the two main threads get equal time slices. Only the
 * main thread is pinned (its thread id is the pid): its worker threads, Redis and PostgreSQL run
 * where they can.
 */
export const SERVER_CPU = "0";
export const LOAD_CPU = "1";

export interface PairedServer {
  url: string;
  /** The server's main thread (its pid). */
  pid: number;
  stop: () => Promise<void>;
}

export interface AtOnceTiming {
  codesFile: string;
  rounds: number;
  /** Both servers loaded together before a round is measured (the JIT's compiler threads settle). */
  warmUpS: number;
  /** A pause after the warm-up and after the slices (past one click flush). */
  settleMs: number;
  seconds: number;
  slices: number;
}

function pinMainThread(pid: number): void {
  const pinned = Bun.spawnSync(["taskset", "-p", "-c", SERVER_CPU, String(pid)]);
  if (pinned.exitCode !== 0) throw new Error(`taskset -p -c ${SERVER_CPU} ${pid}: ${pinned.stderr.toString()}`);
}

/**
 * `timing.rounds` rounds, each on a fresh pair of servers (`one` in slot 1, `two` in slot 2)
 * loaded at the same moment by a wrk each over the mixed-header codes, `timing.slices` slices a
 * round; per round, each server's mean over its slices. A slow spell of this host lands on both
 * servers of a slice, where loaded in turn it made that round's ratio. `afterRound` runs before
 * the pair stops (to read its metrics).
 *
 * @example
 *   const rounds = await loadedAtOnce("A/B", () => start(a), () => start(b), timing);
 *   const ratios = rounds.map((r) => r.two.rps / r.one.rps);
 */
export async function loadedAtOnce(
  label: string,
  one: () => Promise<PairedServer>,
  two: () => Promise<PairedServer>,
  timing: AtOnceTiming,
  afterRound?: (one: PairedServer, two: PairedServer) => Promise<void>,
): Promise<Array<{ one: Sample; two: Sample }>> {
  const rounds: Array<{ one: Sample; two: Sample }> = [];
  const both = (name: string, pair: readonly PairedServer[], seconds: number, measured: boolean) =>
    Promise.all(pair.map((server) => mixedLoad(name, server.url, measured ? server.pid : null, timing.codesFile, seconds, LOAD_CPU)));
  for (let round = 0; round < timing.rounds; round++) {
    const pair = [await one(), await two()];
    try {
      for (const server of pair) pinMainThread(server.pid);
      await both(`${label} warm-up`, pair, timing.warmUpS, false);
      await Bun.sleep(timing.settleMs);
      const slices: Sample[][] = [];
      for (let slice = 0; slice < timing.slices; slice++) slices.push(await both(label, pair, timing.seconds, true));
      await Bun.sleep(timing.settleMs);
      const mean = (at: number): Sample => {
        const of = (pick: (s: Sample) => number) => slices.reduce((n, s) => n + pick(s[at]!), 0) / slices.length;
        // The machine's busy time is shared by both servers' loads: not one server's figure.
        return { rps: of((s) => s.rps), mainUs: of((s) => s.mainUs), allUs: of((s) => s.allUs), machineUs: Number.NaN };
      };
      const r = { one: mean(0), two: mean(1) };
      rounds.push(r);
      console.log(`${label} round ${round + 1}: slot 1 ${Math.round(r.one.rps)}/s (${r.one.mainUs.toFixed(1)} µs), slot 2 ${Math.round(r.two.rps)}/s (${r.two.mainUs.toFixed(1)} µs), ratio ${(r.two.rps / r.one.rps).toFixed(3)}`);
      await afterRound?.(pair[0]!, pair[1]!);
    } finally {
      await pair[1]!.stop();
      await pair[0]!.stop();
    }
  }
  return rounds;
}
