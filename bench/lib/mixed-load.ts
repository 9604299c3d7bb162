import { readFileSync } from "node:fs";
import { boxBusyMs, cpuMs } from "./cpu";
import { runWrk } from "./wrk";

/** CPU ms of one thread (the main thread when `tid` is the pid), from /proc. */
export function threadCpuMs(pid: number, tid: number): number {
  const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

export interface Sample {
  rps: number;
  mainUs: number;
  allUs: number;
  /** The whole machine's busy CPU per request (the load generator, PostgreSQL and Redis too). */
  machineUs: number;
}

/**
 * wrk -c64 against `url` for `seconds` over the codes of `codesFile`, each request with one of the
 * realistic header mixes of bench/wrk/redirects.lua (MIX_HEADERS), and the CPU per request of the
 * server `pid` when given: its main thread (the steadier figure here) and all its threads. `cpus`:
 * where wrk may run (taskset -c).
 */
export async function mixedLoad(label: string, url: string, pid: number | null, codesFile: string, seconds: number, cpus?: string): Promise<Sample> {
  const before = pid === null ? 0 : threadCpuMs(pid, pid);
  const beforeAll = pid === null ? 0 : cpuMs(pid);
  const beforeMachine = boxBusyMs();
  const result = await runWrk({ label, url, script: "redirects", env: { CODES_FILE: codesFile, HOT_SHARE: "1", MIX_HEADERS: "1", COUNT_HEADERS: "0" }, connections: 64, durationS: seconds, cpus });
  if (result.failed > 0) throw new Error(`${label}: ${result.failed} failed requests`);
  const mainUs = pid === null ? 0 : ((threadCpuMs(pid, pid) - before) * 1000) / result.requests;
  const allUs = pid === null ? 0 : ((cpuMs(pid) - beforeAll) * 1000) / result.requests;
  const machineUs = ((boxBusyMs() - beforeMachine) * 1000) / result.requests;
  return { rps: result.rps, mainUs, allUs, machineUs };
}
