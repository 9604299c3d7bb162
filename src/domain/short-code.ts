/**
 * A short code is the canonical Base62 form of a Snowflake id: 1..11 characters, no leading
 * zero, at most 2^63-1. Anything else cannot exist in storage, so the read path rejects it
 * before touching Redis or PostgreSQL. Runs on every redirect, so the range is checked by
 * comparing strings (Base62 digits sort in value order) rather than decoding a BigInt.
 */
const SHAPE = /^[1-9A-Za-z][0-9A-Za-z]{0,10}$/;
/** encodeBase62(2n ** 63n - 1n) */
const MAX_CODE = "AzL8n0Y58m7";

export function isShortCodeShape(text: string): boolean {
  return SHAPE.test(text) || text === "0" ? text.length < 11 || text <= MAX_CODE : false;
}

/** Top-level paths of the service; a generated code equal to one would be unreachable. */
const RESERVED = new Set(["create", "health", "metrics", "ws", "dashboard", "favicon", "robots", "api"]);

export function isReservedCode(code: string): boolean {
  return RESERVED.has(code.toLowerCase());
}
