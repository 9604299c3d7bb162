import { clusterDown } from "./down";
import { nodePort, ROLES } from "./options";
import { portFree } from "./proc";
import { clusterUp } from "./up";

export interface FreeRangeOptions {
  name: string;
  shards: number;
  /** Base ports tried: firstBase + k * step for k in 0..slots-1, starting at a pid-dependent slot. */
  firstBase: number;
  slots: number;
  step?: number;
  /** Shards the caller will add later (add-shard): their ports must be free too. */
  spareShards?: number;
  /** Checked before each attempt: the caller was interrupted. */
  stopped?: () => boolean;
  /** fsync off etc. (ClusterOptions.fast); default true: these clusters are throwaway. */
  fast?: boolean;
  /** ClusterOptions.netnsShards. */
  netnsShards?: number[];
  /** ClusterOptions.ha; default false: plain pairs boot in half the time, and the suites that need the engine ask for it. */
  ha?: boolean;
}

/**
 * Brings a throwaway cluster (--fast unless `fast: false`) up on the first port range that is free, for the test
 * runner and the bench. Starting at a pid-dependent slot keeps concurrent runs on one machine
 * apart; a range another run grabs between probe and bind fails `up`, is wiped, and the next is
 * tried (three attempts). Resolves with the base port.
 */
export async function clusterUpOnFreePorts(options: FreeRangeOptions): Promise<number> {
  const { name, shards, firstBase, slots, step = 100 } = options;
  const first = process.pid % slots;
  let lastError: unknown = null;
  for (let k = 0, tries = 0; k < slots && tries < 3; k++) {
    if (options.stopped?.()) throw new Error("interrupted while starting the cluster");
    const basePort = firstBase + ((first + k) % slots) * step;
    if (!(await rangeFree(basePort, shards + (options.spareShards ?? 0)))) continue;
    tries++;
    try {
      await clusterUp({ name, shards, basePort, fast: options.fast ?? true, ha: options.ha ?? false, netnsShards: options.netnsShards });
      return basePort;
    } catch (error) {
      lastError = error;
      await clusterDown({ name, wipe: true }).catch(() => {});
    }
  }
  throw lastError ?? new Error(`no free port range found from ${firstBase}`);
}

async function rangeFree(basePort: number, shards: number): Promise<boolean> {
  const ports = [basePort + 8, basePort + 9, ...Array.from({ length: shards }, (_, i) => ROLES.map((role) => nodePort(basePort, i, role))).flat()];
  return (await Promise.all(ports.map(portFree))).every(Boolean);
}
