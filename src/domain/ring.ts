import { murmur3 } from "./hash";

/**
 * Consistent-hash ring with virtual nodes over a set of member shards. Shards are named by their
 * index in the configured node lists; each member places `vnodes` points at
 * murmur3("shard-<i>#<v>"), so a shard's points do not depend on which other shards are members:
 * adding shard n only takes keys from the others, and removing shard k only hands k's keys to
 * the rest. Nothing moves between shards that stay.
 *
 * @example
 *   const ring = new HashRing([0, 1, 2]);   // or new HashRing(3), the same ring
 *   ring.shardFor("aB3x9")                  // 0 | 1 | 2, the same on every instance and worker
 */
export const DEFAULT_VNODES = 512;

export class HashRing {
  /** Member shard indices, ascending. */
  readonly members: readonly number[];
  readonly vnodes: number;
  private readonly points: Uint32Array;
  private readonly owners: Uint16Array;

  constructor(members: number | readonly number[], vnodes = DEFAULT_VNODES) {
    const list = typeof members === "number" ? rangeOf(members) : [...new Set(members)].sort((a, b) => a - b);
    if (list.length === 0) throw new RangeError("ring: it needs at least one member shard");
    for (const shard of list) if (!Number.isInteger(shard) || shard < 0 || shard > 0xffff) throw new RangeError(`ring: member ${shard} must be an integer 0..65535`);
    if (!Number.isInteger(vnodes) || vnodes < 1) throw new RangeError(`ring: vnodes ${vnodes} must be >= 1`);
    this.members = list;
    this.vnodes = vnodes;
    const placed: Array<[number, number]> = [];
    for (const shard of list) {
      for (let v = 0; v < vnodes; v++) placed.push([murmur3(`shard-${shard}#${v}`), shard]);
    }
    // Ties (astronomically rare) break by shard index so every process builds the same ring.
    placed.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    this.points = Uint32Array.from(placed, (p) => p[0]);
    this.owners = Uint16Array.from(placed, (p) => p[1]);
  }

  get shardCount(): number {
    return this.members.length;
  }

  has(shard: number): boolean {
    return this.members.includes(shard);
  }

  shardFor(key: string): number {
    return this.ownerOf(murmur3(key));
  }

  private ownerOf(hash: number): number {
    const points = this.points;
    let lo = 0;
    let hi = points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (points[mid]! < hash) lo = mid + 1;
      else hi = mid;
    }
    return this.owners[lo === points.length ? 0 : lo]!;
  }
}

function rangeOf(count: number): number[] {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`ring: shard count ${count} must be >= 1`);
  return Array.from({ length: count }, (_, i) => i);
}

// Building a ring is ~1 ms for 3 shards x 512 vnodes: once per (members, vnodes) per thread.
const rings = new Map<string, HashRing>();

/** The ring of these members, built once per thread (worker threads are handed the members). */
export function ringFor(members: readonly number[], vnodes = DEFAULT_VNODES): HashRing {
  const key = `${members.join(",")}/${vnodes}`;
  let ring = rings.get(key);
  if (!ring) rings.set(key, (ring = new HashRing(members, vnodes)));
  return ring;
}
