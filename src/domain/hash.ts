/**
 * MurmurHash3 (x86, 32-bit) over the UTF-16 code units of a string. Chosen for the ring because
 * it avalanches well on near-identical keys ("shard-1#17" vs "shard-1#18"), which FNV does not,
 * and it is pure arithmetic, so it runs the same in a worker, the server and tests.
 */
export function murmur3(key: string, seed = 0): number {
  let h = seed >>> 0;
  const len = key.length;
  const tail = len & ~1;
  for (let i = 0; i < tail; i += 2) {
    let k = (key.charCodeAt(i) & 0xffff) | ((key.charCodeAt(i + 1) & 0xffff) << 16);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  if (len & 1) {
    let k = key.charCodeAt(len - 1) & 0xffff;
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
  }
  h ^= len * 2;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
