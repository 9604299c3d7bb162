import { decodeBase62 } from "./base62";

/**
 * A short code is the canonical Base62 form of a Snowflake id (1..11 characters). Anything else
 * cannot exist in storage, so the read path rejects it before touching Redis or PostgreSQL.
 */
const SHAPE = /^[0-9A-Za-z]{1,11}$/;

export function isShortCodeShape(text: string): boolean {
  return SHAPE.test(text) && decodeBase62(text) !== null;
}

/** Top-level paths of the service; a generated code equal to one would be unreachable. */
const RESERVED = new Set(["create", "health", "metrics", "ws", "dashboard", "favicon", "robots", "api"]);

export function isReservedCode(code: string): boolean {
  return RESERVED.has(code.toLowerCase());
}
