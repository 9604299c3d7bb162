import { isShortCodeShape } from "./short-code";

/**
 * Custom aliases: 1–64 of [A-Za-z0-9_-], case-insensitive (stored and matched lowercase, so
 * `/MyLink` and `/mylink` are one link, as users of Kutt and dub ask for). An alias lives in the
 * same key space as generated codes and must never collide with one, now or later: generated
 * codes are Base62 Snowflake ids, which since 2026-02 are 10 or 11 letters and digits long (11 is
 * the most a 64-bit id takes), so an alias of that shape is refused (use up to 9 characters, or
 * add - or _). The whole shape, not only the aliases that are codes as written: a path reaches an
 * alias in any capitalisation, and "abcdefghijk" is no code while "Abcdefghijk" is one.
 */
const ALIAS = /^[A-Za-z0-9_-]{1,64}$/;
const CODE_SHAPED = /^[0-9a-z]{10,11}$/;
const RESERVED = new Set(["create", "health", "metrics", "ws", "dashboard", "app", "favicon", "robots", "api", "openapi", "docs", "swagger"]);

export type AliasCheck = { ok: true; alias: string } | { ok: false; reason: string };

export function checkAlias(raw: string): AliasCheck {
  if (!ALIAS.test(raw)) return { ok: false, reason: "alias must be 1-64 characters of A-Z, a-z, 0-9, _ and -" };
  const alias = raw.toLowerCase();
  if (RESERVED.has(alias)) return { ok: false, reason: `alias "${alias}" is reserved` };
  if (CODE_SHAPED.test(alias)) {
    return { ok: false, reason: "aliases of 10 or 11 letters and digits only are reserved for generated codes; use up to 9 characters or include - or _" };
  }
  return { ok: true, alias };
}

/** What a request path may name: a generated code or an alias. Anything else is a 404 without storage. */
export function isLinkPathShape(text: string): boolean {
  return isShortCodeShape(text) || ALIAS.test(text);
}

/** The alias form of a path typed with capitals ("MyLink" → "mylink"), or null when there is none to try. */
export function aliasFallback(path: string): string | null {
  const lower = path.toLowerCase();
  return lower !== path && ALIAS.test(path) ? lower : null;
}

const LONGEST_RESERVED = Math.max(...[...RESERVED].map((name) => name.length));

/** Whether a path names a route of the service (any case). Runs per redirect: long codes skip the lowercasing. */
export function isReservedName(code: string): boolean {
  return code.length <= LONGEST_RESERVED && RESERVED.has(code.toLowerCase());
}
