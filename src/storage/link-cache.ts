import { linkKey, urlKey } from "./redis-keys";
import type { RedisNode } from "./nodes";
import { redisCall } from "./nodes";
import type { RedirectRule } from "../domain/redirect-rules";

/**
 * Redis keys: `l:<code>` → the link on the code's shard, expiring after the configured TTL and
 * refilled from PostgreSQL on the next miss, so Redis never holds the only copy of anything.
 * (`u:<sha256 hex>`, the old dedupe shortcut, is only deleted now: see forgetCodeForUrl.)
 *
 * A link's value is its long URL as is when it has no limits and no owner (every long URL
 * starts with "http"), `{"u":…,"e":expiresAtMs,"m":maxVisits,"o":ownerKeyId}` otherwise (with `"f":0`
 * when the link does not forward the query string, `"r":[…]` for its redirect rules, `"p":<argon2id hash>` when it has a password), and `-`
 * for a deleted link (a tombstone, so a read that raced the delete cannot put the old value
 * back: refills are SET NX). The owner rides along so a redirect can be streamed to its owner's
 * topic without a query; an owned link cached before owners were (plain text) streams to nobody
 * until its entry expires or changes.
 */

export interface LinkValue {
  longUrl: string;
  expiresAt: number | null;
  maxVisits: number | null;
  /** The id of the API key that owns the link; null for anonymous links. */
  owner: string | null;
  /** false: the short URL's query string is not carried over to the target (absent: it is). */
  forwardQuery?: false;
  /** Redirect rules, tried before longUrl; absent: none. */
  rules?: readonly RedirectRule[];
  /** The link's password as an argon2id hash (never the password); absent: no password. */
  passwordHash?: string;
  /** Why an admin disabled the link; absent: it is not disabled. */
  disabled?: string;
}

/**
 * A link's value from its fields as storage or a request holds them: an option at its default
 * (query forwarded, no rules, no password, not disabled) is left out, so it costs the cached
 * value nothing and a plain link stays plain text in Redis.
 */
export function linkValue(f: {
  longUrl: string;
  expiresAt: number | null;
  maxVisits: number | null;
  owner: string | null;
  forwardQuery?: boolean;
  rules?: readonly RedirectRule[] | null;
  passwordHash?: string | null;
  disabled?: string | null;
}): LinkValue {
  return {
    longUrl: f.longUrl,
    expiresAt: f.expiresAt,
    maxVisits: f.maxVisits,
    owner: f.owner,
    ...(f.forwardQuery === false ? { forwardQuery: false as const } : {}),
    ...(f.rules == null || f.rules.length === 0 ? {} : { rules: f.rules }),
    ...(f.passwordHash == null ? {} : { passwordHash: f.passwordHash }),
    ...(f.disabled == null ? {} : { disabled: f.disabled }),
  };
}

/** The cached link, `"deleted"` for a tombstone, or null when Redis has nothing. */
export async function getCachedLink(node: RedisNode, code: string): Promise<LinkValue | "deleted" | null> {
  const raw = await redisCall(node, (r) => r.get(linkKey(code)), { idempotent: true });
  return raw === null ? null : decodeLink(raw);
}

/**
 * A refill after a database read: only if Redis has nothing for the code (NX), so it can never
 * overwrite what a change to the link wrote meanwhile.
 */
export async function cacheLink(node: RedisNode, code: string, link: LinkValue, ttlSeconds: number): Promise<void> {
  const value = encodeLink(link);
  await redisCall(node, (r) => (ttlSeconds > 0 ? r.set(linkKey(code), value, "EX", ttlSeconds, "NX") : r.set(linkKey(code), value, "NX")), { idempotent: true });
}

/** A change to the link (create, edit, delete): overwrites whatever is cached. */
export async function writeLink(node: RedisNode, code: string, link: LinkValue | "deleted", ttlSeconds: number): Promise<void> {
  const value = link === "deleted" ? TOMBSTONE : encodeLink(link);
  await redisCall(node, (r) => (ttlSeconds > 0 ? r.set(linkKey(code), value, "EX", ttlSeconds) : r.set(linkKey(code), value)), { idempotent: true });
}

const TOMBSTONE = "-";

export function encodeLink(link: LinkValue): string {
  if (link.expiresAt === null && link.maxVisits === null && link.owner === null && link.forwardQuery !== false && link.rules === undefined && link.passwordHash === undefined && link.disabled === undefined) return link.longUrl;
  return JSON.stringify({ u: link.longUrl, e: link.expiresAt, m: link.maxVisits, o: link.owner, ...(link.forwardQuery === false ? { f: 0 } : {}), ...(link.rules === undefined ? {} : { r: link.rules }), ...(link.passwordHash === undefined ? {} : { p: link.passwordHash }), ...(link.disabled === undefined ? {} : { d: link.disabled }) });
}

export function decodeLink(raw: string): LinkValue | "deleted" {
  if (raw === TOMBSTONE) return "deleted";
  if (raw.charCodeAt(0) !== 123) return { longUrl: raw, expiresAt: null, maxVisits: null, owner: null };
  const v = JSON.parse(raw) as { u: string; e: number | null; m: number | null; o?: string | null; f?: 0; r?: RedirectRule[]; p?: string; d?: string };
  return linkValue({ longUrl: v.u, expiresAt: v.e, maxVisits: v.m, owner: v.o ?? null, forwardQuery: v.f !== 0, rules: v.r, passwordHash: v.p, disabled: v.d });
}

/**
 * The dedupe shortcut of a URL whose link changed. This version neither reads nor writes these
 * `u:` entries (the claim statement dedupes), but instances of the previous version, side by
 * side in a rolling deploy, read the ones they wrote, for up to CACHE_TTL_SECONDS.
 */
export async function forgetCodeForUrl(node: RedisNode, urlHashHex: string): Promise<void> {
  await redisCall(node, (r) => r.del(urlKey(urlHashHex)), { idempotent: true });
}

