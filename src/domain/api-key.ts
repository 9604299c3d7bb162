import { createHash } from "node:crypto";
import { encodeBase62 } from "./base62";

/**
 * API keys: `shk_<id>_<secret>`, where the id (8 Base62 characters) is the key's visible,
 * stored identity and the secret (192 random bits) is never stored: only the SHA-256 of
 * the whole key is, as dub and Shlink do. `random` is injected so the format is testable.
 *
 * @example
 *   const key = newApiKey((n) => crypto.getRandomValues(new Uint8Array(n)));
 *   key.text        // "shk_3fT9aB2x_..." shown once
 *   hashKey(key.text).equals(key.hash) // true
 */
export interface NewApiKey {
  id: string;
  text: string;
  hash: Buffer;
}

const FORMAT = /^shk_([0-9A-Za-z]{8})_([0-9A-Za-z]{20,64})$/;

export function newApiKey(random: (bytes: number) => Uint8Array): NewApiKey {
  const id = base62Of(random(5), 8);
  // 4 x 48 bits, each in 9 Base62 digits: 192 random bits in 36 characters.
  const secret = Array.from({ length: 4 }, () => base62Of(random(6), 9)).join("");
  const text = `shk_${id}_${secret}`;
  return { id, text, hash: hashKey(text) };
}

export function hashKey(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

/** The key's id when the text has the key format, else null (no lookup needed for junk). */
export function keyIdOf(text: string): string | null {
  return FORMAT.exec(text)?.[1] ?? null;
}

function base62Of(bytes: Uint8Array, width: number): string {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return encodeBase62(n).padStart(width, "0");
}

/** What a key may do: its own links (user), or also the cluster's observability (admin). */
export type KeyScope = "user" | "admin";

/** Who a verified key is. */
export interface Principal {
  keyId: string;
  name: string;
  scope: KeyScope;
}
