import type { TopologyState } from "../domain/topology";
import type { PgNode } from "../storage/nodes";
import { listAcks, loadCheckpoints, type StoredTopology } from "../storage/topology-rows";
import { progressFromCheckpoints, topologyView, type TopologyView } from "./topology-view";

/** The topology view from the catalog: the stored ring plus acks and the current step's checkpoints. */
export async function catalogView(catalog: PgNode, stored: StoredTopology, liveMs: number): Promise<TopologyView> {
  const [acks, progress] = await Promise.all([listAcks(catalog, liveMs).catch(() => []), storedProgress(catalog, stored.state)]);
  return topologyView(stored.state, acks, progress, stored.report);
}

async function storedProgress(catalog: PgNode, state: TopologyState) {
  if (!state.migrationId) return [];
  const step = state.phase === "cleanup" ? "cleanup" : "copy";
  return progressFromCheckpoints(step, await loadCheckpoints(catalog, state.migrationId, step).catch(() => []));
}
