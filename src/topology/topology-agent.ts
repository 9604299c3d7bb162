import { TOPOLOGY_CHANNEL } from "../storage/redis-keys";
import type Redis from "ioredis";
import { shardsInUse, stableState, type TopologyState } from "../domain/topology";
import type { Logger } from "../observability/logger";
import type { PgNode } from "../storage/nodes";
import { acknowledge, bootstrapTopology, forgetInstance, readTopology, type StoredTopology } from "../storage/topology-rows";
import { catalogView } from "./catalog-view";
import type { RingRouter } from "./ring-router";
import type { TopologyView } from "./topology-view";
import { InfraError } from "../errors";
import { waitOutNodeFaults } from "../storage/node-fault-wait";

export interface TopologyAgentDeps {
  /** Shard 0's nodes: the catalog lives on the primary; the replica answers reads while it is down. */
  catalog: { primary: PgNode; replica: PgNode };
  router: RingRouter;
  instance: string;
  /** Shards this instance has nodes for (0..n-1). */
  configuredShards: number;
  /** Error text when any of `shards` is unreachable, else null (run before taking on a new shard). */
  probe: (shards: readonly number[]) => Promise<string | null>;
  pollMs: number;
  liveMs: number;
  /** How long an ack waits for writes begun under the previous ring. */
  drainTimeoutMs: number;
  /** Push channel: the mover announces phase changes and progress here. */
  subscriber: Redis;
  /** Stream delivery of a topology view (the hub's `topology` topic). */
  onView: (view: TopologyView & { kind: "topology" }) => void;
  logger: Logger;
}

/**
 * This instance's side of online re-sharding. The ring lives in the catalog (PostgreSQL); the
 * agent reads it at boot, then converges on changes within one poll interval, or at once when
 * the mover announces one over Redis pub/sub. A new version is applied only if this instance
 * can serve it (it has the shards' nodes, and for `prepare` it reaches the new shards), and it is
 * acknowledged only once writes begun under the older ring have finished. The ack row doubles as
 * the heartbeat by which the mover tells live instances from dead ones.
 */
export class TopologyAgent {
  private timer: ReturnType<typeof setInterval> | undefined;
  private refreshing: Promise<void> | null = null;
  private again = false;
  private error: string | null = null;
  private catalogDown = false;

  constructor(private readonly deps: TopologyAgentDeps) {}

  /** Loads the ring (writing the first one, every configured shard, on a new cluster) and starts polling. */
  async start(): Promise<void> {
    // The catalog may still be coming up (npm start) or failing over: wait for it, saying so.
    const stored = await waitOutNodeFaults(async () => (await this.read()) ?? (await bootstrapTopology(this.deps.catalog.primary, stableState(range(this.deps.configuredShards)))), {
      log: (line) => this.deps.logger.warn(`topology: ${line}`),
      pauseMs: 250,
      giveUpAfterMs: START_WAIT_MS,
    });
    const missing = this.unconfigured(stored.state);
    if (missing.length > 0) throw new Error(this.unconfiguredMessage(stored.state, missing));
    this.deps.router.set(stored.state);
    await this.ack();
    this.deps.subscriber.on("message", (channel, message) => {
      if (channel === TOPOLOGY_CHANNEL) this.onPush(message);
    });
    await this.deps.subscriber.subscribe(TOPOLOGY_CHANNEL).catch((error: unknown) => this.deps.logger.warn("topology push unavailable; polling only", { error: (error as Error).message }));
    this.timer = setInterval(() => void this.refresh(), this.deps.pollMs);
    this.timer.unref?.();
  }

  /** Runs one read-apply-ack round (also what the poll timer does); concurrent calls coalesce. */
  refresh(): Promise<void> {
    if (this.refreshing) {
      this.again = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      do {
        this.again = false;
        await this.round();
      } while (this.again);
    })().finally(() => (this.refreshing = null));
    return this.refreshing;
  }

  /** The view GET /api/topology answers, read from the catalog. */
  async view(): Promise<TopologyView> {
    const stored = (await this.read()) ?? { state: this.deps.router.topology, report: {} };
    return catalogView(this.deps.catalog.primary, stored, this.deps.liveMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.deps.subscriber.unsubscribe(TOPOLOGY_CHANNEL).catch(() => {});
    await forgetInstance(this.deps.catalog.primary, this.deps.instance).catch(() => {});
  }

  private async round(): Promise<void> {
    const stored = await this.read().catch(() => null);
    if (stored && stored.state.version > this.deps.router.topology.version) await this.apply(stored.state);
    await this.ack();
  }

  private async apply(state: TopologyState): Promise<void> {
    const { router, logger } = this.deps;
    const missing = this.unconfigured(state);
    if (missing.length > 0) {
      this.error = this.unconfiguredMessage(state, missing);
      logger.warn("cannot run the new ring", { version: state.version, error: this.error });
      return;
    }
    const fresh = shardsInUse(state).filter((s) => !shardsInUse(router.topology).includes(s));
    const unreachable = fresh.length > 0 ? await this.deps.probe(fresh) : null;
    if (unreachable !== null) {
      this.error = unreachable;
      logger.warn("cannot reach the new ring's shards", { version: state.version, error: unreachable });
      return;
    }
    router.set(state);
    if (!(await router.drained(state.version, this.deps.drainTimeoutMs))) {
      logger.warn("acknowledging with writes of the previous ring still in flight", { version: state.version, writes: router.writesBefore(state.version) });
    }
    this.error = null;
    logger.info("ring changed", { version: state.version, phase: state.phase, members: state.members.join(","), target: state.target?.join(",") ?? "" });
    void this.view()
      .then((view) => this.deps.onView({ kind: "topology", ...view }))
      .catch(() => {});
  }

  private async ack(): Promise<void> {
    const { version, phase } = this.deps.router.topology;
    try {
      await acknowledge(this.deps.catalog.primary, { instance: this.deps.instance, version, phase, error: this.error });
      if (this.catalogDown) this.deps.logger.info("topology catalog reachable again");
      this.catalogDown = false;
    } catch (error) {
      if (!this.catalogDown) this.deps.logger.warn("topology catalog unreachable; serving with the ring we have", { version, error: (error as Error).message });
      this.catalogDown = true;
    }
  }

  private onPush(message: string): void {
    let version: unknown;
    try {
      const parsed = JSON.parse(message) as { kind?: unknown; version?: unknown };
      if (parsed.kind !== "topology") return;
      version = parsed.version;
      this.deps.onView(parsed as TopologyView & { kind: "topology" });
    } catch {
      return;
    }
    if (typeof version === "number" && version > this.deps.router.topology.version) void this.refresh();
  }

  /** The catalog's row from the primary, or from the replica while the primary is down. */
  private async read(): Promise<StoredTopology | null> {
    const { primary, replica } = this.deps.catalog;
    try {
      return await readTopology(primary);
    } catch (error) {
      const fromReplica = await readTopology(replica).catch(() => null);
      if (fromReplica === null) throw new InfraError(primary.name, `cannot read the ring from it (${(error as Error).message}) or from ${replica.name}`, true, error);
      return fromReplica;
    }
  }

  private unconfigured(state: TopologyState): number[] {
    return shardsInUse(state).filter((s) => s >= this.deps.configuredShards);
  }

  private unconfiguredMessage(state: TopologyState, missing: number[]): string {
    return `ring v${state.version} uses shard(s) ${missing.join(", ")}, but DATABASE_NODES and REDIS_NODES describe only ${this.deps.configuredShards} shard(s); list every shard's nodes`;
  }
}

/** How long a starting server waits for the catalog before it gives up with the node's error. */
const START_WAIT_MS = 60_000;

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
