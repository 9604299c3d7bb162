/**
 * Validation of a long URL. Parse first, then check the parsed parts: a regex on the raw string
 * is bypassable (`java\tscript:` parses as `javascript:` because the URL parser drops tabs),
 * so raw control characters are refused before parsing and the scheme is read from the result.
 * What we store and redirect to is the re-serialised `href`, never the raw input.
 */
export type LongUrlCheck = { ok: true; href: string } | { ok: false; reason: string };

export interface LongUrlRules {
  maxLength: number;
  /** Whether a parsed URL is this service (links to it would loop); see own-host.ts. */
  isOwnHost: (url: URL) => boolean;
}

// C0 controls, DEL, C1 controls, and Unicode line/paragraph separators; whitespace anywhere.
const FORBIDDEN_CHARS = /[\u0000-\u0020\u007f-\u009f\u2028\u2029]/;

export function checkLongUrl(raw: string, rules: LongUrlRules): LongUrlCheck {
  if (raw.length === 0) return { ok: false, reason: "url is empty" };
  if (raw.length > rules.maxLength) return { ok: false, reason: `url is longer than ${rules.maxLength} characters` };
  if (FORBIDDEN_CHARS.test(raw)) return { ok: false, reason: "url contains whitespace or control characters" };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: "url is not an absolute URL" };
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return { ok: false, reason: `url scheme ${url.protocol.slice(0, -1)} is not allowed; use http or https` };
  if (url.hostname === "") return { ok: false, reason: "url has no host" };
  if (url.username !== "" || url.password !== "") return { ok: false, reason: "url must not contain credentials (user:pass@host)" };
  if (rules.isOwnHost(url)) return { ok: false, reason: "url points back at this service" };
  if (url.href.length > rules.maxLength) return { ok: false, reason: `url is longer than ${rules.maxLength} characters once normalised` };
  return { ok: true, href: url.href };
}
