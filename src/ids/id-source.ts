import { Piscina } from "piscina";
import type { SnowflakeState } from "../domain/snowflake";
import type { Block } from "./id-block";

export interface IdTicket {
  id: bigint;
  code: string;
  shard: number;
}

export interface IdSourceOptions {
  instanceId: number;
  /** Worker threads; each is one lane with its own Snowflake worker id. */
  threads: number;
  shardCount: number;
  blockSize: number;
  /** A shard's buffer below this triggers a refill. */
  lowWater: number;
  workerFile: string;
}

/** Worker ids are instanceId * 16 + lane: unique across lanes and instances (INSTANCE_ID < 64). */
export const LANES_PER_INSTANCE = 16;

interface Lane {
  workerId: number;
  state: SnowflakeState | null;
  busy: boolean;
}

/**
 * Pre-generated (id, code, shard) tickets, one buffer per shard, refilled in bulk by a piscina
 * pool so a create never waits on a thread hop. Each lane has at most one block in flight and
 * carries its Snowflake state between blocks, so ids never repeat even if a thread dies.
 * Buffers are capped at 8 blocks' worth: a shard that takes no writes (its primary is down)
 * sheds surplus codes instead of growing without bound.
 *
 * @example
 *   const ids = new IdSource({ instanceId: 0, threads: 2, shardCount: 3, blockSize: 2048, lowWater: 1024, workerFile });
 *   await ids.start();
 *   const ticket = ids.takeFor([1, 2]); // synchronous
 */
export class IdSource {
  private readonly buffers: IdTicket[][];
  private readonly lanes: Lane[];
  private readonly pool: Piscina;
  private readonly highWater: number;
  private waiters: Array<() => void> = [];
  private failures = 0;
  private closed = false;

  constructor(private readonly options: IdSourceOptions) {
    if (options.threads > LANES_PER_INSTANCE) throw new RangeError(`id source: at most ${LANES_PER_INSTANCE} threads`);
    this.buffers = Array.from({ length: options.shardCount }, () => []);
    this.lanes = Array.from({ length: options.threads }, (_, lane) => ({ workerId: options.instanceId * LANES_PER_INSTANCE + lane, state: null, busy: false }));
    this.pool = new Piscina({ filename: options.workerFile, minThreads: options.threads, maxThreads: options.threads });
    this.highWater = Math.max(options.lowWater * 2, Math.ceil((options.blockSize * 8) / options.shardCount));
  }

  /** Resolves once every shard's buffer is at or above the low-water mark. */
  async start(): Promise<void> {
    while (!this.closed && this.buffers.some((b) => b.length < this.options.lowWater)) {
      if (this.failures > this.lanes.length * 3) throw new Error(`id source: ${this.failures} blocks failed in the worker pool (${this.options.workerFile})`);
      this.refill();
      await this.nextBlock();
    }
  }

  take(shard: number): IdTicket | undefined {
    const ticket = this.buffers[shard]?.pop();
    if ((this.buffers[shard]?.length ?? 0) < this.options.lowWater) this.refill();
    return ticket;
  }

  /** A ticket from the first of `shards` that has one. */
  takeFor(shards: readonly number[]): IdTicket | undefined {
    for (const shard of shards) {
      const ticket = this.take(shard);
      if (ticket) return ticket;
    }
    return undefined;
  }

  /** The rare path: waits for refills until `shard` has a ticket. */
  async takeAsync(shard: number): Promise<IdTicket> {
    for (;;) {
      const ticket = this.take(shard);
      if (ticket) return ticket;
      if (this.closed) throw new Error("id source closed");
      await this.nextBlock();
    }
  }

  levels(): number[] {
    return this.buffers.map((b) => b.length);
  }

  /** Blocks that failed in a worker (the lane retries from its last good state). */
  get failedBlocks(): number {
    return this.failures;
  }

  /** Bulk ring work off the request thread: which codes move when the shard count changes. */
  planMoves(codes: string[], fromShards: number, toShards: number): Promise<Array<{ code: string; from: number; to: number }>> {
    return this.pool.run({ kind: "plan-moves", codes, fromShards, toShards });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wake();
    await this.pool.destroy();
  }

  private refill(): void {
    if (this.closed || !this.buffers.some((b) => b.length < this.options.lowWater)) return;
    for (const lane of this.lanes) if (!lane.busy) this.dispatch(lane);
  }

  private dispatch(lane: Lane): void {
    lane.busy = true;
    const request = { kind: "block", workerId: lane.workerId, resumeFrom: lane.state, count: this.options.blockSize, shardCount: this.options.shardCount };
    this.pool
      .run(request)
      .then((block: Block) => {
        lane.state = block.state;
        this.append(block);
      })
      .catch(() => {
        // The lane keeps its last good state, so a retried block cannot repeat an id.
        this.failures++;
      })
      .finally(() => {
        lane.busy = false;
        this.wake();
        if (!this.closed) this.refill();
      });
  }

  private append(block: Block): void {
    for (let i = 0; i < block.codes.length; i++) {
      const buffer = this.buffers[block.shards[i]!]!;
      if (buffer.length < this.highWater) buffer.push({ id: block.ids[i]!, code: block.codes[i]!, shard: block.shards[i]! });
    }
  }

  private nextBlock(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
