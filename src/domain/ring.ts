import { murmur3 } from "./hash";

/**
 * Consistent-hash ring with virtual nodes. Shards are named by index (0..n-1); each places
 * `vnodes` points at murmur3("shard-<i>#<v>"), so a shard's points do not depend on how many
 * shards exist: adding shard n only takes keys from the others and moves none between them.
 *
 * @example
 *   const ring = new HashRing(3);
 *   ring.shardFor("aB3x9") // 0 | 1 | 2, the same on every instance and worker
 */
export const DEFAULT_VNODES = 512;

export class HashRing {
  readonly shardCount: number;
  private readonly points: Uint32Array;
  private readonly owners: Uint16Array;

  constructor(shardCount: number, vnodes = DEFAULT_VNODES) {
    if (!Number.isInteger(shardCount) || shardCount < 1) throw new RangeError(`ring: shard count ${shardCount} must be >= 1`);
    if (!Number.isInteger(vnodes) || vnodes < 1) throw new RangeError(`ring: vnodes ${vnodes} must be >= 1`);
    this.shardCount = shardCount;
    const placed: Array<[number, number]> = [];
    for (let shard = 0; shard < shardCount; shard++) {
      for (let v = 0; v < vnodes; v++) placed.push([murmur3(`shard-${shard}#${v}`), shard]);
    }
    // Ties (astronomically rare) break by shard index so every process builds the same ring.
    placed.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    this.points = Uint32Array.from(placed, (p) => p[0]);
    this.owners = Uint16Array.from(placed, (p) => p[1]);
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
