/**
 * Snowflake ids: 41 bits of milliseconds since EPOCH_MS, 10 bits of worker id, 12 bits of
 * sequence. A generator never repeats an id: within one millisecond it counts the sequence, and
 * when the sequence is spent it waits for the next millisecond.
 *
 * @example
 *   const gen = new Snowflake({ workerId: 3, now: Date.now });
 *   const id = gen.next(); // bigint
 */
export const EPOCH_MS = 1_767_225_600_000; // 2026-01-01T00:00:00Z: keeps codes short for decades
export const WORKER_ID_BITS = 10;
export const SEQUENCE_BITS = 12;
export const MAX_WORKER_ID = (1 << WORKER_ID_BITS) - 1;
const MAX_SEQUENCE = (1 << SEQUENCE_BITS) - 1;
const MAX_TIMESTAMP = 2 ** 41 - 1;

export class ClockMovedBackwardsError extends Error {
  override readonly name = "ClockMovedBackwardsError";
  constructor(readonly driftMs: number) {
    super(`clock moved backwards by ${driftMs} ms; refusing to generate ids until it catches up`);
  }
}

export interface SnowflakeOptions {
  workerId: number;
  now: () => number;
  /** Backwards drift (ms) we wait out; a larger jump throws so a bad clock is loud. */
  maxBackwardsWaitMs?: number;
  /** Resume after `state()` of an earlier generator with the same worker id. */
  resumeFrom?: SnowflakeState;
}

/** Where a generator stands: enough to continue elsewhere without repeating an id. */
export interface SnowflakeState {
  lastMs: number;
  sequence: number;
}

export interface SnowflakeParts {
  timestampMs: number;
  workerId: number;
  sequence: number;
}

export class Snowflake {
  private readonly workerBits: bigint;
  private readonly now: () => number;
  private readonly maxBackwardsWaitMs: number;
  private lastMs = -1;
  private sequence = 0;

  constructor(options: SnowflakeOptions) {
    const { workerId } = options;
    if (!Number.isInteger(workerId) || workerId < 0 || workerId > MAX_WORKER_ID) {
      throw new RangeError(`snowflake: worker id ${workerId} is outside 0..${MAX_WORKER_ID}`);
    }
    this.workerBits = BigInt(workerId) << BigInt(SEQUENCE_BITS);
    this.now = options.now;
    this.maxBackwardsWaitMs = options.maxBackwardsWaitMs ?? 5;
    if (options.resumeFrom) {
      // State crosses thread boundaries (see src/ids/id-source.ts); a mangled one must not
      // silently reset the sequence and repeat ids.
      const { lastMs, sequence } = options.resumeFrom;
      if (!Number.isInteger(lastMs) || lastMs < -1 || lastMs > MAX_TIMESTAMP) throw new RangeError(`snowflake: resume state lastMs ${lastMs} is outside -1..${MAX_TIMESTAMP}`);
      if (!Number.isInteger(sequence) || sequence < 0 || sequence > MAX_SEQUENCE) throw new RangeError(`snowflake: resume state sequence ${sequence} is outside 0..${MAX_SEQUENCE}`);
      this.lastMs = lastMs;
      this.sequence = sequence;
    }
  }

  /** Milliseconds since EPOCH_MS of the last id (-1 before the first) and its sequence. */
  state(): SnowflakeState {
    return { lastMs: this.lastMs, sequence: this.sequence };
  }

  next(): bigint {
    let ms = this.now() - EPOCH_MS;
    if (ms < this.lastMs) ms = this.waitForClock(ms);
    let sequence = 0;
    if (ms === this.lastMs) {
      sequence = (this.sequence + 1) & MAX_SEQUENCE;
      if (sequence === 0) ms = this.spinUntilAfter(this.lastMs);
    }
    // Checked before the state changes, so a refused call cannot make a later call repeat an id.
    if (ms > MAX_TIMESTAMP || ms < 0) throw new RangeError(`snowflake: timestamp ${ms} out of range`);
    this.lastMs = ms;
    this.sequence = sequence;
    return (BigInt(ms) << BigInt(WORKER_ID_BITS + SEQUENCE_BITS)) | this.workerBits | BigInt(sequence);
  }

  private waitForClock(ms: number): number {
    const drift = this.lastMs - ms;
    if (drift > this.maxBackwardsWaitMs) throw new ClockMovedBackwardsError(drift);
    return this.spinUntilAfter(this.lastMs - 1);
  }

  private spinUntilAfter(ms: number): number {
    let current = this.now() - EPOCH_MS;
    while (current <= ms) current = this.now() - EPOCH_MS;
    return current;
  }
}

export function parseSnowflake(id: bigint): SnowflakeParts {
  return {
    timestampMs: Number(id >> BigInt(WORKER_ID_BITS + SEQUENCE_BITS)) + EPOCH_MS,
    workerId: Number((id >> BigInt(SEQUENCE_BITS)) & BigInt(MAX_WORKER_ID)),
    sequence: Number(id & BigInt(MAX_SEQUENCE)),
  };
}
