import { routingFor, type Routing, type TopologyState } from "../domain/topology";

/**
 * The ring this instance routes by right now, and the writes still running under older rings.
 * The read and write paths take `current` once per request and use that snapshot throughout,
 * so a request never mixes two rings; the topology agent swaps it and acknowledges a version
 * only once the writes begun under earlier versions have finished (`drained`), so the mover
 * never copies from a shard that an in-flight create is still about to write to.
 *
 * @example
 *   const router = new RingRouter(stableState([0, 1, 2]));
 *   const route = router.beginWrite();
 *   try { route.write.shardFor(code) } finally { router.endWrite(route) }
 */
export class RingRouter {
  private routing: Routing;
  private state: TopologyState;
  private readonly writes = new Map<number, number>();
  private readonly watchers = new Set<() => void>();
  /** Told when the write ring's members change (the ID source re-buckets its tickets). */
  onWriteMembers: ((members: readonly number[]) => void) | undefined;

  constructor(initial: TopologyState, private readonly vnodes?: number) {
    this.state = initial;
    this.routing = routingFor(initial, vnodes);
  }

  get current(): Routing {
    return this.routing;
  }

  get topology(): TopologyState {
    return this.state;
  }

  set(state: TopologyState): void {
    if (state.version <= this.state.version) return;
    const before = this.routing.write.members.join(",");
    this.state = state;
    this.routing = routingFor(state, this.vnodes);
    if (this.routing.write.members.join(",") !== before) this.onWriteMembers?.(this.routing.write.members);
  }

  beginWrite(): Routing {
    const route = this.routing;
    this.writes.set(route.version, (this.writes.get(route.version) ?? 0) + 1);
    return route;
  }

  endWrite(route: Routing): void {
    const left = (this.writes.get(route.version) ?? 1) - 1;
    if (left > 0) this.writes.set(route.version, left);
    else this.writes.delete(route.version);
    for (const wake of this.watchers) wake();
  }

  /** Writes in flight that began under a version before `version`. */
  writesBefore(version: number): number {
    let n = 0;
    for (const [v, count] of this.writes) if (v < version) n += count;
    return n;
  }

  /** Resolves true once no write begun before `version` is in flight, false after `timeoutMs`. */
  drained(version: number, timeoutMs: number): Promise<boolean> {
    if (this.writesBefore(version) === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.watchers.delete(check);
        resolve(ok);
      };
      const check = () => {
        if (this.writesBefore(version) === 0) done(true);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      this.watchers.add(check);
    });
  }
}
