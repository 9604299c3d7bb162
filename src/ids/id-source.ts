import { Piscina } from "piscina";
import { HashRing } from "../domain/ring";
import { MAX_WORKER_ID, type SnowflakeState } from "../domain/snowflake";
import { NoTicketError } from "../errors";
import { blockCodes, MAX_BLOCK_SIZE, MAX_SHARDS, type Block, type IdWorkerTask } from "./id-block";

export interface IdTicket {
  id: bigint;
  code: string;
  shard: number;
}

export interface IdSourceOptions {
  /** 0..63; with the lane it makes the Snowflake worker id, so two live instances must differ. */
  instanceId: number;
  /** Worker threads, 1..16; each is one lane with its own Snowflake worker id. */
  threads: number;
  /** Configured shards (0..shardSlots-1): one buffer each. */
  shardSlots: number;
  /** The write ring's members: tickets are bucketed to their owner in this ring (setMembers changes it). */
  members: readonly number[];
  /** Ids per task; a block's codes spread over all member shards. */
  blockSize: number;
  /** A shard's buffer below this triggers a refill. */
  lowWater: number;
  workerFile: string;
  /** Must match the read path's ring (default: the ring's DEFAULT_VNODES). */
  vnodes?: number;
  /** A block slower than this is presumed hung: its thread is replaced. Also takeAsync's wait. */
  blockTimeoutMs?: number;
  /** Failed blocks and pool errors, for logs; the source retries on its own. */
  onError?: (error: Error) => void;
}

/** Worker id = instanceId * 16 + lane: unique across lanes, and across instances. */
export const LANES_PER_INSTANCE = 16;
export const MAX_INSTANCE_ID = Math.floor(MAX_WORKER_ID / LANES_PER_INSTANCE);
const MAX_RETRY_DELAY_MS = 2_000;

interface Lane {
  workerId: number;
  /** Snowflake state after the last block that reached this thread; only success moves it. */
  state: SnowflakeState | null;
  busy: boolean;
  /** The ring generation the block in flight was bucketed with. */
  generation: number;
  failures: number;
  retryAt: number;
}

/**
 * Pre-generated (id, code, shard) tickets, one buffer per shard, refilled in bulk by a piscina
 * pool so a create never waits on a thread hop. The main thread owns one lane per thread: each
 * has its own worker id, at most one block in flight, and carries its Snowflake state from block
 * to block, so ids never repeat even when piscina replaces a crashed or hung thread.
 * A buffer is capped (`capacity`): a shard that takes no writes (its primary is down) sheds
 * surplus codes instead of growing without bound.
 *
 * @example
 *   const ids = new IdSource({ instanceId: 0, threads: 2, shardSlots: 3, members: [0, 1, 2], blockSize: 2048, lowWater: 1024, workerFile });
 *   await ids.start();                                  // every shard at or above lowWater
 *   const t = ids.takeFor([1, 2]) ?? (await ids.takeAsync(1)); // { id, code, shard }
 *   await ids.close();
 */
export class IdSource {
  /** Per-shard buffer cap. */
  readonly capacity: number;
  private readonly buffers: IdTicket[][];
  private readonly lanes: Lane[];
  private readonly pool: Piscina;
  private readonly blockTimeoutMs: number;
  private waiters = new Set<() => void>();
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private retryAt = 0;
  private blocks = 0;
  private failures = 0;
  private consecutiveFailures = 0;
  private lastError: Error | undefined;
  private closed = false;
  private ring: HashRing;
  private generation = 0;

  constructor(private readonly options: IdSourceOptions) {
    const { instanceId, threads, shardSlots, blockSize, lowWater } = options;
    checkInt("instanceId", instanceId, 0, MAX_INSTANCE_ID);
    checkInt("threads", threads, 1, LANES_PER_INSTANCE);
    checkInt("shardSlots", shardSlots, 1, MAX_SHARDS);
    checkInt("blockSize", blockSize, 1, MAX_BLOCK_SIZE);
    checkInt("lowWater", lowWater, 1, Number.MAX_SAFE_INTEGER);
    this.ring = this.checkedRing(options.members);
    this.blockTimeoutMs = options.blockTimeoutMs ?? 10_000;
    // Room for a refill round on top of lowWater, so a refill is rarely shed.
    this.capacity = Math.max(lowWater * 2, Math.ceil((blockSize * 8) / options.members.length));
    this.buffers = Array.from({ length: shardSlots }, () => []);
    this.lanes = Array.from({ length: threads }, (_, lane) => ({ workerId: instanceId * LANES_PER_INSTANCE + lane, state: null, busy: false, generation: 0, failures: 0, retryAt: 0 }));
    this.pool = new Piscina({ filename: options.workerFile, minThreads: threads, maxThreads: threads });
    // piscina emits 'error' for a thread that fails with no task on it (e.g. at load); unheard,
    // that event would throw on the main thread.
    this.pool.on("error", (error: unknown) => this.recordFailure(error));
  }

  /** Resolves once every shard's buffer is at or above lowWater; rejects if the pool cannot make blocks. */
  async start(): Promise<void> {
    for (;;) {
      if (this.closed) throw new Error("id source: closed before it started");
      if (!this.needsRefill()) return;
      // Before any block has worked, a failure is a broken deployment (bad worker file, bad
      // config), not bad luck: say so at boot rather than wait.
      if (this.lastError && (this.blocks === 0 || this.consecutiveFailures >= 3 * this.lanes.length)) {
        throw new Error(`id source: the worker pool (${this.options.workerFile}) failed ${this.failures} time(s) and made ${this.blocks} block(s): ${this.lastError.message}`, { cause: this.lastError });
      }
      this.refill();
      await this.nextChange(this.blockTimeoutMs);
    }
  }

  /** Pops a ticket for `shard`, or undefined when its buffer is empty. Never waits. */
  take(shard: number): IdTicket | undefined {
    const buffer = this.buffers[shard];
    if (buffer === undefined) throw new RangeError(`id source: shard ${shard} is outside 0..${this.buffers.length - 1}`);
    const ticket = buffer.pop();
    if (buffer.length < this.options.lowWater) this.refill();
    return ticket;
  }

  /** A ticket from the first of `shards` that has one (callers list the shards that are up). */
  takeFor(shards: readonly number[]): IdTicket | undefined {
    for (const shard of shards) {
      const ticket = this.take(shard);
      if (ticket) return ticket;
    }
    return undefined;
  }

  /** The rare path: waits for refills until `shard` has a ticket; a NoTicketError after `timeoutMs`. */
  async takeAsync(shard: number, timeoutMs = this.blockTimeoutMs): Promise<IdTicket> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const ticket = this.take(shard);
      if (ticket) return ticket;
      const left = deadline - performance.now();
      if (this.closed || left <= 0) {
        const why = this.closed ? "the id source is closed" : `none within ${timeoutMs} ms${this.lastError ? ` (last pool error: ${this.lastError.message})` : ""}`;
        throw new NoTicketError(shard, `no short code available for shard ${shard}: ${why}`, this.lastError);
      }
      await this.nextChange(left);
    }
  }

  /**
   * A new write ring (a re-sharding phase change): every buffered ticket is re-bucketed to its
   * owner in the new ring, so a code handed out afterwards always lands on its new owner. Blocks
   * already in flight are re-bucketed when they arrive. Inline: ~0.1 µs per buffered code.
   */
  setMembers(members: readonly number[]): void {
    const ring = this.checkedRing(members);
    if (ring.members.join(",") === this.ring.members.join(",")) return;
    this.ring = ring;
    this.generation++;
    const tickets = this.buffers.flatMap((b) => b.splice(0));
    for (const ticket of tickets) this.put(ticket.id, ticket.code, ring.shardFor(ticket.code));
    this.refill();
  }

  /** Buffer level per shard, for metrics. */
  levels(): number[] {
    return this.buffers.map((b) => b.length);
  }

  /** Blocks that failed in the pool, plus pool errors; each lane retries from its last good state. */
  get failedBlocks(): number {
    return this.failures;
  }

  /** Stops refilling and destroys the pool's threads (so a test runner or server can exit). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.wake();
    await this.pool.destroy();
  }

  private needsRefill(): boolean {
    return this.ring.members.some((m) => this.buffers[m]!.length < this.options.lowWater);
  }

  private checkedRing(members: readonly number[]): HashRing {
    for (const m of members) checkInt("member shard", m, 0, this.options.shardSlots - 1);
    return new HashRing(members, this.options.vnodes);
  }

  private put(id: bigint, code: string, shard: number): void {
    const buffer = this.buffers[shard]!;
    if (buffer.length < this.capacity) buffer.push({ id, code, shard });
  }

  private refill(): void {
    if (this.closed || !this.needsRefill()) return;
    const now = performance.now();
    for (const lane of this.lanes) {
      if (lane.busy) continue;
      if (lane.retryAt <= now) this.dispatch(lane);
      else this.scheduleRetry(lane.retryAt - now);
    }
  }

  private dispatch(lane: Lane): void {
    lane.busy = true;
    lane.generation = this.generation;
    const { blockSize, vnodes } = this.options;
    const task: IdWorkerTask = { kind: "block", workerId: lane.workerId, resumeFrom: lane.state, count: blockSize, members: this.ring.members, vnodes };
    // Aborting a running task makes piscina terminate that thread: a hung block cannot stall its lane.
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), this.blockTimeoutMs);
    this.pool
      .run(task, { signal: abort.signal })
      .then((block: Block) => this.accept(lane, block))
      .catch((error: unknown) => {
        // The lane keeps its last delivered state: a retry regenerates only ids nobody received.
        if (this.closed) return;
        lane.failures++;
        lane.retryAt = performance.now() + Math.min(MAX_RETRY_DELAY_MS, 25 * 2 ** (lane.failures - 1));
        this.recordFailure(error);
      })
      .finally(() => {
        clearTimeout(timer);
        lane.busy = false;
        this.wake();
        this.refill();
      });
  }

  private accept(lane: Lane, block: Block): void {
    const codes = blockCodes(block);
    if (codes.length !== block.ids.length || codes.length !== block.shards.length) {
      throw new Error(`id source: malformed block (${block.ids.length} ids, ${codes.length} codes); is ${this.options.workerFile} from another version?`);
    }
    lane.state = block.state;
    lane.failures = 0;
    this.consecutiveFailures = 0;
    this.blocks++;
    const { ids, shards } = block;
    // A block bucketed for a ring that has since changed is re-bucketed here, not thrown away.
    const stale = lane.generation !== this.generation;
    for (let i = 0; i < codes.length; i++) this.put(ids[i]!, codes[i]!, stale ? this.ring.shardFor(codes[i]!) : shards[i]!);
  }

  private recordFailure(error: unknown): void {
    this.failures++;
    this.consecutiveFailures++;
    this.lastError = error instanceof Error ? error : new Error(String(error));
    this.options.onError?.(this.lastError);
    this.wake();
  }

  private scheduleRetry(delayMs: number): void {
    const at = performance.now() + delayMs;
    if (this.retryTimer !== undefined && this.retryAt <= at) return;
    clearTimeout(this.retryTimer);
    this.retryAt = at;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.refill();
    }, delayMs);
    this.retryTimer.unref?.();
  }

  /** Resolves at the next block, failure or close, or after `timeoutMs`. */
  private nextChange(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.waiters.add(done);
    });
  }

  private wake(): void {
    for (const done of [...this.waiters]) done();
  }
}

function checkInt(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) throw new RangeError(`id source: ${name} ${value} is outside ${min}..${max}`);
}
