/**
 * The blocklist of hosts and domains: an entry blocks that host and every host under it
 * (`evil.example` blocks `cdn.evil.example`, not `notevil.example`); an IP address blocks only
 * itself. Entries and the hosts checked against them are both in the form the WHATWG URL parser
 * gives a hostname (IDN as punycode, lower case, IPv4 in dotted decimal, IPv6 compressed in
 * brackets), with trailing dots removed, so a host is blocked however a link spells it: the link
 * is checked after the parser has normalised it (long-url.ts), and an entry goes through the
 * same parser however a person writes it.
 */

export type BlockEntry = { ok: true; host: string } | { ok: false; reason: string };

const MAX_HOST_LENGTH = 253;
// Tabs and newlines would be dropped by the URL parser, joining what a person wrote apart.
const WHITESPACE_OR_CONTROL = /[\s\u0000-\u001f\u007f-\u009f]/;
const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;
// The parser turns every IPv4 spelling (hex, octal, fewer parts) into this one.
const IPV4 = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

const isIpHost = (host: string) => host.startsWith("[") || IPV4.test(host);

// An IPv4 address written as IPv6 (mapped, `::ffff:a.b.c.d`, or NAT64, `64:ff9b::a.b.c.d`) reaches
// the same machine, so it is checked (and stored) as the IPv4 address. The parser prints both
// with the last 32 bits as two hex groups.
const EMBEDDED_IPV4 = /^\[(?:::ffff|64:ff9b:):([0-9a-f]{1,4}):([0-9a-f]{1,4})\]$/;

/** The host with an IPv4 address embedded in IPv6 written as that IPv4 address; any other host as it is. */
function plainIp(host: string): string {
  const m = EMBEDDED_IPV4.exec(host);
  if (m === null) return host;
  const high = parseInt(m[1]!, 16);
  const low = parseInt(m[2]!, 16);
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}

// `2001:db8::1` as people write it: the parser needs the brackets of a URL's host.
const BARE_IPV6 = /^[0-9a-f:.]*:[0-9a-f:.]*:[0-9a-f:.]*$/i;

const withoutTrailingDots = (host: string) => {
  let end = host.length;
  while (end > 0 && host.charCodeAt(end - 1) === 46) end--;
  return end === host.length ? host : host.slice(0, end);
};

/**
 * One entry as a person writes it: a host or domain (`Example.COM.`, `bücher.example`), with a
 * port or user (`user@evil.example:8443`), a whole URL (its scheme is set aside, so any URL's host
 * will do), an IP address, or `*.evil.example` / `.evil.example`, which mean `evil.example`
 * since a domain always blocks what is under it. A single label (`com`, `localhost`) is refused:
 * it would block a whole top-level domain or a name that means something else on every machine.
 */
export function blockEntryOf(raw: string): BlockEntry {
  const text = raw.trim();
  if (text === "") return { ok: false, reason: "entry is empty" };
  if (WHITESPACE_OR_CONTROL.test(text)) return { ok: false, reason: "entry contains whitespace or control characters" };
  let parsed: string;
  try {
    const hostPart = text.replace(SCHEME, "");
    parsed = new URL(`http://${BARE_IPV6.test(hostPart) ? `[${hostPart}]` : hostPart}`).hostname;
  } catch {
    return { ok: false, reason: "entry is not a host name or URL" };
  }
  let host = withoutTrailingDots(parsed);
  if (host.startsWith("*.")) host = host.slice(2);
  else if (host.startsWith(".")) host = host.slice(1);
  if (host.includes("*")) return { ok: false, reason: "a wildcard is only allowed as a leading *." };
  if (host.length > MAX_HOST_LENGTH) return { ok: false, reason: `host is longer than ${MAX_HOST_LENGTH} characters` };
  if (isIpHost(host)) return { ok: true, host: plainIp(host) };
  const labels = host.split(".");
  if (labels.includes("")) return { ok: false, reason: "host has an empty label" };
  if (labels.length < 2) return { ok: false, reason: "give a domain with at least two labels (or an IP address)" };
  return { ok: true, host };
}

/**
 * The hostname of an absolute http(s) URL as `new URL(...).href` serialises it, without trailing
 * dots: the same as `new URL(href).hostname` but without parsing the URL again, since the redirect
 * path asks this of every link it serves. In a serialised href the user info cannot hold `/`, `?`,
 * `#` or `@` (they are percent-encoded) and a host cannot hold `:` outside IPv6 brackets.
 */
export function hostOfHref(href: string): string {
  const start = href.indexOf("://") + 3;
  if (start < 3) return "";
  let end = start;
  while (end < href.length) {
    const c = href.charCodeAt(end);
    if (c === 47 || c === 63 || c === 35) break; // / ? #
    end++;
  }
  const at = href.lastIndexOf("@", end - 1);
  const from = at >= start ? at + 1 : start;
  let to = end;
  if (href.charCodeAt(from) === 91) {
    const bracket = href.indexOf("]", from);
    if (bracket >= 0 && bracket < end) to = bracket + 1;
  } else {
    const colon = href.indexOf(":", from);
    if (colon >= 0 && colon < end) to = colon;
  }
  // Lower case whoever serialised it: the answer must not depend on where the string came from.
  return withoutTrailingDots(href.slice(from, to).toLowerCase());
}

/**
 * The hosts seen on the redirect path and what the list said of them. Served links repeat a small
 * number of hosts, and walking a host's parent domains costs a substring per label, so a repeat
 * costs one map lookup instead; a crawl over many distinct hosts empties it rather than grow it.
 */
const MEMO_MAX = 10_000;

/**
 * An immutable set of entries (as blockEntryOf gives them). A change to the blocklist builds a new
 * one, so its memo never needs invalidating and readers never see a half-updated list.
 *
 * @example
 *   const list = new HostBlocklist(["evil.example", "203.0.113.7"]);
 *   list.blocks("cdn.evil.example"); // "evil.example"
 *   list.blocksHref("https://notevil.example/x"); // null
 */
export class HostBlocklist {
  private readonly hosts: ReadonlySet<string>;
  private readonly memo = new Map<string, string | null>();

  constructor(entries: Iterable<string>) {
    this.hosts = new Set(entries);
  }

  get size(): number {
    return this.hosts.size;
  }

  has(entry: string): boolean {
    return this.hosts.has(entry);
  }

  /** The entry that blocks `host` (a hostname in the entries' form): itself or a parent domain; an IP only itself. */
  blocks(host: string): string | null {
    if (this.hosts.size === 0) return null;
    if (isIpHost(host)) {
      const ip = plainIp(host);
      return this.hosts.has(ip) ? ip : null;
    }
    for (let from = 0; ; ) {
      const candidate = from === 0 ? host : host.slice(from);
      if (this.hosts.has(candidate)) return candidate;
      const dot = host.indexOf(".", from);
      if (dot < 0) return null;
      from = dot + 1;
    }
  }

  /** The entry that blocks the host of a normalised http(s) URL (checkLongUrl's `href`), or null. */
  blocksHref(href: string): string | null {
    if (this.hosts.size === 0) return null;
    const host = hostOfHref(href);
    const known = this.memo.get(host);
    if (known !== undefined) return known;
    const entry = this.blocks(host);
    if (this.memo.size >= MEMO_MAX) this.memo.clear();
    this.memo.set(host, entry);
    return entry;
  }

  /** Every entry, sorted. */
  entries(): string[] {
    return [...this.hosts].sort();
  }
}

/**
 * A blocklist file (BLOCKLIST_FILE): one entry per line in any form blockEntryOf takes; `#` starts
 * a comment, on its own line or after an entry (a URL's fragment says nothing about its host).
 * Blank lines are skipped and a repeated entry is kept once; `line` numbers count from 1.
 */
export function parseBlocklistFile(text: string): { entries: string[]; errors: Array<{ line: number; reason: string }> } {
  const entries = new Set<string>();
  const errors: Array<{ line: number; reason: string }> = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const hash = raw.indexOf("#");
    const content = (hash >= 0 ? raw.slice(0, hash) : raw).trim();
    if (content === "") return;
    const entry = blockEntryOf(content);
    if (entry.ok) entries.add(entry.host);
    else errors.push({ line: index + 1, reason: entry.reason });
  });
  return { entries: [...entries], errors };
}
