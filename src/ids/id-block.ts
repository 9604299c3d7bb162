import { encodeBase62 } from "../domain/base62";
import { HashRing } from "../domain/ring";
import { Snowflake, type SnowflakeState } from "../domain/snowflake";

/**
 * One block of pre-generated short codes: Snowflake id → Base62 code → ring shard. Pure, so the
 * worker runs it and tests can too. The generator state goes in and comes out with the block,
 * which keeps the worker thread stateless: a restarted thread cannot repeat an id.
 */
export interface BlockRequest {
  workerId: number;
  resumeFrom: SnowflakeState | null;
  count: number;
  shardCount: number;
}

export interface Block {
  ids: BigInt64Array;
  codes: string[];
  shards: Uint8Array;
  state: SnowflakeState;
}

const rings = new Map<number, HashRing>();

function ringFor(shardCount: number): HashRing {
  let ring = rings.get(shardCount);
  if (!ring) rings.set(shardCount, (ring = new HashRing(shardCount)));
  return ring;
}

export function generateBlock(request: BlockRequest, now: () => number = Date.now): Block {
  const gen = new Snowflake({ workerId: request.workerId, now, resumeFrom: request.resumeFrom ?? undefined });
  const ring = ringFor(request.shardCount);
  const ids = new BigInt64Array(request.count);
  const codes = new Array<string>(request.count);
  const shards = new Uint8Array(request.count);
  for (let i = 0; i < request.count; i++) {
    const id = gen.next();
    const code = encodeBase62(id);
    ids[i] = id;
    codes[i] = code;
    shards[i] = ring.shardFor(code);
  }
  return { ids, codes, shards, state: gen.state() };
}

/** Bulk ring work for re-sharding: which codes change shard when the shard count changes. */
export function planMoves(request: { codes: string[]; fromShards: number; toShards: number }): Array<{ code: string; from: number; to: number }> {
  const from = ringFor(request.fromShards);
  const to = ringFor(request.toShards);
  const moves: Array<{ code: string; from: number; to: number }> = [];
  for (const code of request.codes) {
    const a = from.shardFor(code);
    const b = to.shardFor(code);
    if (a !== b) moves.push({ code, from: a, to: b });
  }
  return moves;
}
