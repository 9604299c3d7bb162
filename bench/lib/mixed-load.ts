import { readFileSync } from "node:fs";
import { runWrk } from "./wrk";

/** CPU ms of one thread (the main thread when `tid` is the pid), from /proc. */
export function threadCpuMs(pid: number, tid: number): number {
  const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** CPU ms of the whole process, every thread (the analytics worker, GC and I/O threads too). */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Busy CPU ms of the whole machine, every process (the load generator, PostgreSQL and Redis too), from /proc/stat. */
export function machineBusyMs(): number {
  const cpu = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = cpu[3]! + cpu[4]!;
  return (cpu.reduce((a, b) => a + b, 0) - idle) * 10;
}

export interface Sample {
  rps: number;
  mainUs: number;
  allUs: number;
  /** The whole machine's busy CPU per request. */
  machineUs: number;
}

/**
 * wrk -c64 against `url` for `seconds` over the codes of `codesFile`, each request with one of the
 * realistic header mixes of bench/wrk/redirects.lua (MIX_HEADERS), and the CPU per request of the
 * server `pid` when given: its main thread (the steadier figure here) and all its threads.
 */
export async function mixedLoad(label: string, url: string, pid: number | null, codesFile: string, seconds: number): Promise<Sample> {
  const before = pid === null ? 0 : threadCpuMs(pid, pid);
  const beforeAll = pid === null ? 0 : processCpuMs(pid);
  const beforeMachine = machineBusyMs();
  const result = await runWrk({ label, url, script: "redirects", env: { CODES_FILE: codesFile, HOT_SHARE: "1", MIX_HEADERS: "1", COUNT_HEADERS: "0" }, connections: 64, durationS: seconds });
  if (result.failed > 0) throw new Error(`${label}: ${result.failed} failed requests`);
  const mainUs = pid === null ? 0 : ((threadCpuMs(pid, pid) - before) * 1000) / result.requests;
  const allUs = pid === null ? 0 : ((processCpuMs(pid) - beforeAll) * 1000) / result.requests;
  const machineUs = ((machineBusyMs() - beforeMachine) * 1000) / result.requests;
  return { rps: result.rps, mainUs, allUs, machineUs };
}
