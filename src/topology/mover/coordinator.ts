import { abort, advance, beginMigration, planAdd, planDrain, shardsInUse, TopologyError, type TopologyState } from "../../domain/topology";
import { listAcks, readTopology, replaceTopology, saveReport, type InstanceAck } from "../../storage/topology-rows";
import { topologyView, type TopologyView } from "../topology-view";
import { nodeFault, waitOutNodeFaults } from "../../storage/node-fault-wait";
import { cleanupStep } from "./cleanup-step";
import { copyStep } from "./copy-step";
import { checkStopped, type MoverContext } from "./mover-context";
import { verifyStep } from "./verify-step";

export type ReshardCommand = { kind: "add" } | { kind: "drain"; shard: number } | { kind: "resume" } | { kind: "abort" };

export interface CoordinatorDeps {
  ctx: MoverContext;
  /** Applies the schema on a shard's primary before the ring may use it. */
  migrate: (shard: number) => Promise<void>;
  /** Announces a view on the `topology` channel (instances refresh at once and forward it to dashboards). */
  publish: (view: TopologyView) => Promise<void>;
  liveMs: number;
  /** Wait after the switch before deleting moved rows from their old owners. */
  graceMs: number;
  /** How often acks are polled and progress is published. */
  tickMs: number;
  /** After a node fault was waited out, before the mover goes on (re-takes its lock on the catalog). */
  resumed?: () => Promise<void>;
}

export interface ReshardResult {
  state: TopologyState;
  verify: unknown;
  cleanup: unknown;
}

/**
 * The mover: takes the ring from one member set to another through the phases of
 * domain/topology.ts, entering each phase only after every live instance acknowledged the last
 * one. Everything it knows is in the catalog (the state, checkpoints, reports), so it can be
 * stopped or killed at any point and run again: it continues from the stored phase.
 */
export class Coordinator {
  private report: Record<string, unknown> = {};

  constructor(private readonly deps: CoordinatorDeps) {}

  async run(command: ReshardCommand): Promise<ReshardResult> {
    let state = await this.untilThrough(() => this.begin(command));
    const publisher = setInterval(() => void this.announce(state).catch(() => {}), this.deps.tickMs * 2);
    try {
      while (state.phase !== "stable") {
        await this.awaitAcks(state);
        await this.untilThrough(() => this.work(state));
        const from = state;
        state = await this.untilThrough(() => this.move(from, advance(from)), () => this.landed(advance(from)));
      }
      await this.awaitAcks(state);
      return { state, verify: this.report.verify ?? null, cleanup: this.report.cleanup ?? null };
    } finally {
      clearInterval(publisher);
      await this.announce(state).catch(() => {});
    }
  }

  /**
   * A step that a node fault (any node of any shard, the catalog included) pauses instead of
   * ending the run: one line, then the step again once the node or its promoted standby answers,
   * continuing from the checkpoints it saved in the catalog. `landed` tells whether a step whose
   * answer was lost took effect anyway (a ring change committed just before the catalog went away).
   */
  private untilThrough<T>(step: () => Promise<T>, landed?: () => Promise<T | null>): Promise<T> {
    const { ctx, tickMs } = this.deps;
    return waitOutNodeFaults(step, { log: ctx.log, pauseMs: tickMs * 4, check: () => checkStopped(ctx.signal), landed, resumed: this.deps.resumed });
  }

  /** The stored state, when it already is `to` (the compare-and-set committed but its answer was lost). */
  private async landed(to: TopologyState): Promise<TopologyState | null> {
    const stored = await readTopology(this.deps.ctx.catalog);
    return stored && stored.state.version === to.version && stored.state.phase === to.phase ? stored.state : null;
  }

  /** Starts the asked-for migration, or finds the one to continue. */
  private async begin(command: ReshardCommand): Promise<TopologyState> {
    const { ctx } = this.deps;
    const stored = await readTopology(ctx.catalog);
    if (!stored) throw new TopologyError("the catalog has no ring yet: start an instance once (it writes the first ring) before re-sharding");
    this.report = stored.report;
    const state = stored.state;
    if (command.kind === "abort") {
      const next = abort(state);
      ctx.log(next.phase === "stable" ? `aborted ${state.migrationId}: back to ring ${next.members.join(",")}` : `aborting ${state.migrationId}: copying back to ring ${next.target!.join(",")}`);
      return this.move(state, next);
    }
    if (state.phase !== "stable") {
      const asked = command.kind === "resume" || command.kind === state.kind;
      if (!asked) throw new TopologyError(`migration ${state.migrationId} (${state.kind}) is in phase ${state.phase}: run \`reshard resume\` to finish it or \`reshard abort\` to go back`);
      ctx.log(`resuming ${state.migrationId} (${state.kind}) at phase ${state.phase}, ring v${state.version}`);
      return state;
    }
    if (command.kind === "resume") throw new TopologyError(`nothing to resume: ring v${state.version} is stable on shards ${state.members.join(",")}`);
    const target = command.kind === "add" ? planAdd(state.members, ctx.shards.count) : planDrain(state.members, command.shard);
    for (const shard of target.filter((s) => !state.members.includes(s))) await this.deps.migrate(shard);
    this.report = {};
    const id = `m-${new Date().toISOString().replace(/[-:.TZ]/g, "").slice(0, 14)}-${command.kind}`;
    ctx.log(`${id}: ring ${state.members.join(",")} → ${target.join(",")}`);
    return this.move(state, beginMigration(state, command.kind, target, id), {});
  }

  private async work(state: TopologyState): Promise<void> {
    const { ctx } = this.deps;
    const id = state.migrationId!;
    const to = state.target!;
    switch (state.phase) {
      case "copy": {
        const written = await this.withBars("copy", () => copyStep(ctx, id, state.members, to));
        ctx.log(`copy: ${written} row(s) written to their new owners`);
        return;
      }
      case "verify": {
        const verify = await this.withBars("verify", () => verifyStep(ctx, id, state.members, to));
        await this.saveReport(state, { verify });
        ctx.log(`verify: ${verify.pairs.length} pair(s), ${verify.pairs.reduce((n, p) => n + p.count, 0)} moved row(s), ${verify.caught_up} caught up, ${verify.differences} difference(s)`);
        if (verify.differences > 0) {
          const keys = verify.examples.map((d) => `${d.table} ${JSON.stringify(d.key)} (${d.source}→${d.target}, ${d.problem})`).join("; ");
          throw new TopologyError(`verify found ${verify.differences} difference(s); the switch is not made. First keys: ${keys}`);
        }
        return;
      }
      case "cleanup": {
        ctx.log(`cleanup: waiting ${this.deps.graceMs} ms for reads begun under the old ring`);
        await Bun.sleep(this.deps.graceMs);
        checkStopped(ctx.signal);
        const cleanup = await this.withBars("cleanup", () => cleanupStep(ctx, id, shardsInUse(state), to));
        await this.saveReport(state, { cleanup });
        ctx.log(`cleanup: ${cleanup.deleted} row(s) and ${cleanup.cache_keys_deleted} cache key(s) deleted from old owners, ${cleanup.kept} kept`);
        return;
      }
      default:
        return;
    }
  }

  /** Compare-and-set in the catalog, then tell every instance at once instead of at its next poll. */
  private async move(from: TopologyState, to: TopologyState, report?: Record<string, unknown>): Promise<TopologyState> {
    if (report) this.report = report;
    if (!(await replaceTopology(this.deps.ctx.catalog, from.version, to, report))) {
      throw new TopologyError(`the ring changed under this mover (expected v${from.version}); is another \`reshard\` running?`);
    }
    this.deps.ctx.log(`ring v${to.version}: ${to.phase}${to.target ? ` (${to.members.join(",")} → ${to.target.join(",")})` : ` (${to.members.join(",")})`}`);
    await this.announce(to).catch(() => {});
    return to;
  }

  /** Waits until no live instance runs a version below the state's. */
  private async awaitAcks(state: TopologyState): Promise<void> {
    const { ctx, liveMs, tickMs } = this.deps;
    let said = "";
    for (;;) {
      checkStopped(ctx.signal);
      let fault: string | null = null;
      const acks = await listAcks(ctx.catalog, liveMs).catch((error: unknown) => void (fault = nodeFault(error) ?? (error as Error).message));
      const behind = acks?.filter((a) => a.live && a.version < state.version);
      if (behind && behind.length === 0) return;
      const line = behind ? `waiting for ${behind.map(describe).join(", ")} to acknowledge v${state.version} (${state.phase})` : `waiting for ${fault ?? "the catalog (shard 0's primary)"}`;
      // One line per wait: a node's error text changes as it goes (refused, then breaker open).
      const topic = behind ? line : "catalog";
      if (topic !== said) ctx.log(line);
      said = topic;
      await Bun.sleep(tickMs);
    }
  }

  private async withBars<T>(step: string, run: () => Promise<T>): Promise<T> {
    const { board } = this.deps.ctx;
    const timer = setInterval(() => board.render(step), this.deps.tickMs);
    try {
      return await run();
    } finally {
      clearInterval(timer);
      board.render(step);
      board.release();
    }
  }

  private async saveReport(state: TopologyState, part: Record<string, unknown>): Promise<void> {
    this.report = { ...this.report, ...part };
    await saveReport(this.deps.ctx.catalog, state.version, this.report);
  }

  private async announce(state: TopologyState): Promise<void> {
    const acks = await listAcks(this.deps.ctx.catalog, this.deps.liveMs).catch(() => []);
    await this.deps.publish(topologyView(state, acks, this.deps.ctx.board.entries(), this.report));
  }
}

function describe(ack: InstanceAck): string {
  return `${ack.instance} (at v${ack.version}${ack.error ? `: ${ack.error}` : ""})`;
}
