/**
 * Base62 over unsigned 64-bit integers, alphabet 0-9A-Za-z (sorts like the numbers it encodes
 * when lengths are equal).
 *
 * @example encodeBase62(125n) === "21"; decodeBase62("21") === 125n
 */
export const BASE62_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

const MAX_U64 = (1n << 64n) - 1n;
const DIGIT_VALUE = new Map([...BASE62_ALPHABET].map((ch, i) => [ch, BigInt(i)]));

export function encodeBase62(value: bigint): string {
  if (value < 0n || value > MAX_U64) throw new RangeError(`base62: ${value} is outside 0..2^64-1`);
  if (value === 0n) return "0";
  let out = "";
  let n = value;
  while (n > 0n) {
    out = BASE62_ALPHABET[Number(n % 62n)] + out;
    n /= 62n;
  }
  return out;
}

/** Returns null for anything that is not a canonical base62 encoding of a u64. */
export function decodeBase62(text: string): bigint | null {
  if (text.length === 0 || text.length > 11) return null;
  if (text.length > 1 && text[0] === "0") return null;
  let n = 0n;
  for (const ch of text) {
    const digit = DIGIT_VALUE.get(ch);
    if (digit === undefined) return null;
    n = n * 62n + digit;
  }
  return n > MAX_U64 ? null : n;
}
