import { existsSync, rmSync } from "node:fs";
import { stopPooler } from "./monitor-pooler";
import { removeNetwork } from "./netns";
import { livePid, stopNodeRecord } from "./node-control";
import { clusterDir, DEFAULTS, REPO_ROOT, type ClusterOptions } from "./options";
import { hasState, readState, writeState } from "./state";

/**
 * Stops every server recorded in the cluster's state (by PID, waiting for each to exit;
 * nothing else is touched), replicas first so they do not log a lost primary. With `wipe`
 * the cluster folder is deleted afterwards.
 *
 * @example await clusterDown({ name: "test-1", wipe: true });
 */
export async function clusterDown(opts: Pick<ClusterOptions, "name" | "root" | "wipe" | "log"> = {}): Promise<{ stopped: number }> {
  const dir = clusterDir(opts.root ?? REPO_ROOT, opts.name ?? DEFAULTS.name);
  const log = opts.log ?? (() => {});
  let stopped = 0;
  if (hasState(dir)) {
    const state = readState(dir);
    const errors: string[] = [];
    for (const tier of [["replica"], ["primary", "redis"], ["monitor"]]) {
      const nodes = [...state.nodes, ...(state.monitor ? [state.monitor] : [])].filter((n) => tier.includes(n.role));
      await Promise.all(
        nodes.map(async (node) => {
          try {
            const wasUp = livePid(node) !== null;
            await stopNodeRecord(state, node, "graceful");
            if (wasUp) stopped++;
            log(`shard ${node.shard} ${node.role} :${node.port} stopped`);
          } catch (e) {
            errors.push(`shard ${node.shard} ${node.role}: ${(e as Error).message}`);
          }
        }),
      );
    }
    await stopPooler(state);
    writeState(state);
    if (errors.length > 0) throw new Error(`cluster down: ${errors.join("; ")}`);
  }
  if (opts.wipe && existsSync(dir)) {
    const saved = hasState(dir) ? readState(dir) : null;
    if (saved) await removeNetwork(saved);
    const nodesDir = saved?.nodesDir;
    for (const d of new Set([dir, nodesDir ?? dir])) {
      rmSync(d, { recursive: true, force: true });
      log(`wiped ${d}`);
    }
  }
  return { stopped };
}
