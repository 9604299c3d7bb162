import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { checkLongUrl } from "../../src/domain/long-url";
import { blockEntryOf, HostBlocklist, hostOfHref, parseBlocklistFile } from "../../src/domain/host-blocklist";

/**
 * The blocklist's entries and matching. The property at the end is the issue's promise: a blocked
 * host is refused in every spelling the URL check (checkLongUrl) accepts, whichever spelling the
 * entry was written in.
 */
const rules = { maxLength: 4096, isOwnHost: () => false };
const hostOf = (raw: string) => {
  const entry = blockEntryOf(raw);
  return entry.ok ? entry.host : `refused: ${entry.reason}`;
};

describe("blockEntryOf", () => {
  test.each([
    ["Example.COM.", "example.com"],
    ["  evil.example\t", "evil.example"],
    ["evil.example:8443", "evil.example"],
    ["user:pw@evil.example:8443", "evil.example"],
    ["https://user@evil.example:8443/path?q=1#top", "evil.example"],
    ["ftp://Evil.Example/", "evil.example"],
    ["*.evil.example", "evil.example"],
    [".evil.example", "evil.example"],
    ["https://*.evil.example/", "evil.example"],
    ["bücher.example", "xn--bcher-kva.example"],
    ["XN--BCHER-KVA.EXAMPLE", "xn--bcher-kva.example"],
    ["пример.испытание", "xn--e1afmkfd.xn--80akhbyknj4f"],
    ["evil%2Eexample", "evil.example"],
    ["203.0.113.7", "203.0.113.7"],
    ["0x7f.1", "127.0.0.1"],
    ["203.0.113.7.", "203.0.113.7"],
    ["[2001:DB8:0:0::1]", "[2001:db8::1]"],
    ["http://[2001:db8::1]:8443/x", "[2001:db8::1]"],
  ])("%p is %p", (raw, host) => {
    expect(hostOf(raw)).toBe(host);
  });

  test.each([
    ["", "entry is empty"],
    ["   ", "entry is empty"],
    ["evil .example", "entry contains whitespace or control characters"],
    ["evil\t.example", "entry contains whitespace or control characters"],
    ["com", "give a domain with at least two labels (or an IP address)"],
    ["localhost", "give a domain with at least two labels (or an IP address)"],
    ["*.com", "give a domain with at least two labels (or an IP address)"],
    ["*", "a wildcard is only allowed as a leading *."],
    ["evil.*.example", "a wildcard is only allowed as a leading *."],
    ["**.evil.example", "a wildcard is only allowed as a leading *."],
    ["a..example", "host has an empty label"],
    [`${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(63)}.example`, "host is longer than 253 characters"],
    ["http://", "entry is not a host name or URL"],
    ["[::1", "entry is not a host name or URL"],
    ["999.1.1.1", "entry is not a host name or URL"],
    ["evil.example:port", "entry is not a host name or URL"],
  ])("%p is refused: %p", (raw, reason) => {
    expect(hostOf(raw)).toBe(`refused: ${reason}`);
  });
});

describe("parseBlocklistFile", () => {
  test("one entry a line; comments, blank lines and repeats are skipped; wrong lines are counted from 1", () => {
    const text = ["# blocked after the March incident", "", "evil.example", "  Evil.Example.  # again, another spelling", "https://phish.example/login#frag", "com", "bücher.example", "   # indented comment", "evil .example", "203.0.113.7\r", ""].join("\n");
    expect(parseBlocklistFile(text)).toEqual({
      entries: ["evil.example", "phish.example", "xn--bcher-kva.example", "203.0.113.7"],
      errors: [
        { line: 6, reason: "give a domain with at least two labels (or an IP address)" },
        { line: 9, reason: "entry contains whitespace or control characters" },
      ],
    });
  });

  test("an empty file is an empty list", () => {
    expect(parseBlocklistFile("")).toEqual({ entries: [], errors: [] });
  });
});

describe("HostBlocklist", () => {
  const list = new HostBlocklist(["evil.example", "ads.tracker.example", "203.0.113.7", "[2001:db8::1]"]);

  test("a domain blocks itself and every host under it", () => {
    expect(list.blocks("evil.example")).toBe("evil.example");
    expect(list.blocks("cdn.evil.example")).toBe("evil.example");
    expect(list.blocks("a.b.c.evil.example")).toBe("evil.example");
    expect(list.blocks("ads.tracker.example")).toBe("ads.tracker.example");
    expect(list.blocks("x.ads.tracker.example")).toBe("ads.tracker.example");
  });

  test("siblings, look-alikes and parents are not blocked", () => {
    for (const host of ["notevil.example", "evil.example.com", "evil.examples", "example", "tracker.example", "ads-tracker.example", "xads.tracker.example", "evil-example", "", "com"]) {
      expect([host, list.blocks(host)]).toEqual([host, null]);
    }
  });

  test("an IP address blocks only itself", () => {
    expect(list.blocks("203.0.113.7")).toBe("203.0.113.7");
    expect(list.blocks("[2001:db8::1]")).toBe("[2001:db8::1]");
    for (const host of ["203.0.113.70", "103.0.113.7", "[2001:db8::2]", "[::1]"]) expect([host, list.blocks(host)]).toEqual([host, null]);
    // An entry that looks like the tail of an address is not a parent domain of it.
    expect(new HostBlocklist(["0.113.7"]).blocks("203.0.113.7")).toBeNull();
  });

  test("an IPv4 address is blocked however IPv6 embeds it (mapped, NAT64), and entries may be written so or as bare IPv6", () => {
    for (const url of ["http://[::ffff:203.0.113.7]/", "http://[::FFFF:cb00:7107]:8080/x", "http://[64:ff9b::203.0.113.7]/", "http://0xcb.0.113.7/"]) {
      expect([url, list.blocksHref(new URL(url).href)]).toEqual([url, "203.0.113.7"]);
    }
    expect(list.blocksHref(new URL("http://[::ffff:203.0.113.8]/").href)).toBeNull();
    for (const entry of ["::ffff:203.0.113.7", "[::ffff:203.0.113.7]", "http://[64:ff9b::cb00:7107]/"]) expect([entry, blockEntryOf(entry)]).toEqual([entry, { ok: true, host: "203.0.113.7" }]);
    expect(blockEntryOf("2001:DB8::1")).toEqual({ ok: true, host: "[2001:db8::1]" });
  });

  test("blocksHref reads the host of a normalised URL", () => {
    expect(list.blocksHref("https://cdn.evil.example/path?next=https://good.example/")).toBe("evil.example");
    expect(list.blocksHref("http://good.example/?u=http://evil.example/")).toBeNull();
    expect(list.blocksHref("https://good.example/#@evil.example")).toBeNull();
    expect(list.blocksHref("http://203.0.113.7:8080/")).toBe("203.0.113.7");
    expect(list.blocksHref("http://[2001:db8::1]:8080/")).toBe("[2001:db8::1]");
    expect(new HostBlocklist([]).blocksHref("https://evil.example/")).toBeNull();
  });

  test("answers stay right past the memo's bound", () => {
    const many = Array.from({ length: 25_000 }, (_, i) => `https://h${i}.${i % 2 === 0 ? "evil" : "good"}.example/`);
    for (let round = 0; round < 2; round++) {
      for (const [i, href] of many.entries()) {
        if (list.blocksHref(href) !== (i % 2 === 0 ? "evil.example" : null)) throw new Error(`wrong answer for ${href}`);
      }
    }
  });

  test("size, has and sorted entries", () => {
    expect(list.size).toBe(4);
    expect(list.has("evil.example")).toBe(true);
    expect(list.has("cdn.evil.example")).toBe(false);
    expect(list.entries()).toEqual(["203.0.113.7", "[2001:db8::1]", "ads.tracker.example", "evil.example"]);
  });
});

// Not "xn--…": that is punycode, which the parser decodes and may refuse.
const asciiLabel = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/).filter((l) => !l.startsWith("xn--"));
// Letters whose capitals map back to them (not ß, not Greek sigma), so a random case is the same name.
const unicodeLabel = fc.oneof(
  fc.constantFrom("bücher", "пример", "испытание", "münchen", "españa", "café"),
  fc.array(fc.constantFrom(..."abcdefü0öäéñпримед"), { minLength: 1, maxLength: 10 }).map((chars) => chars.join("")).filter((l) => /[^a-z0-9]/.test(l)),
);
const label = fc.oneof(asciiLabel, unicodeLabel);
// A last label of digits would make the host an IPv4 address.
const topLabel = fc.oneof(asciiLabel.filter((l) => /[a-z]/.test(l[0]!)), unicodeLabel.filter((l) => !/^[0-9]/.test(l)));
const domain = fc.tuple(fc.array(label, { minLength: 1, maxLength: 3 }), topLabel).map(([labels, top]) => [...labels, top]);

/** The label as the parser gives it (punycode when it is not ASCII). */
const asciiOf = (l: string) => new URL(`http://${l}.example`).hostname.split(".")[0]!;
const caseFlips = fc.array(fc.boolean(), { minLength: 64, maxLength: 64 });
const recase = (text: string, flips: boolean[]) => [...text].map((ch, i) => (flips[i % flips.length] ? ch.toUpperCase() : ch)).join("");

/** Labels spelled each in Unicode or punycode, with random capitals and sometimes trailing dots. */
const spelled = (labels: fc.Arbitrary<string[]>) =>
  fc
    .tuple(labels, fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }), caseFlips, fc.integer({ min: 0, max: 2 }))
    .map(([ls, punycode, flips, dots]) => recase(ls.map((l, i) => (punycode[i] ? asciiOf(l) : l)).join("."), flips) + ".".repeat(dots));

const scheme = fc.constantFrom("http", "https", "HTTP", "Https");
const rest = fc.constantFrom("", "/", "/x", "/launch-2027?utm=1", "/a/b?c=d#e", "?q=1", "#frag");
const portFor = (s: string) => fc.oneof(fc.constant(""), fc.constant(s.toLowerCase() === "https" ? ":443" : ":80"), fc.integer({ min: 1, max: 65535 }).map((p) => `:${p}`));

/** A URL checkLongUrl accepts (it refuses user info) on `host` under 0-2 more labels. */
const urlOn = (labels: string[]) =>
  fc
    .tuple(scheme, fc.array(label, { maxLength: 2 }))
    .chain(([s, sub]) => fc.tuple(fc.constant(s), spelled(fc.constant([...sub, ...labels])), portFor(s), rest))
    .map(([s, host, port, r]) => `${s}://${host}${port}${r}`);

/** An entry as a person might write it: any URL or host form blockEntryOf takes, user info included. */
const entryFor = (labels: string[]) =>
  fc
    .tuple(spelled(fc.constant(labels)), fc.constantFrom("", "*.", "."), fc.constantFrom("bare", "port", "user", "url", "ftp"), fc.integer({ min: 1, max: 65535 }))
    .map(([host, wildcard, form, port]) => {
      const h = wildcard + host;
      if (form === "port") return `${h}:${port}`;
      if (form === "user") return `user:secret@${h}`;
      if (form === "url") return `https://someone@${h}:${port}/path?q=1#top`;
      if (form === "ftp") return `ftp://${h}/`;
      return `  ${h} `;
    });

const canonical = (labels: string[]) => new URL(`http://${labels.join(".")}/`).hostname;

describe("a blocked host is refused in every spelling", () => {
  test("an entry in any spelling blocks every accepted spelling of its host and of hosts under it", () => {
    fc.assert(
      fc.property(domain.chain((labels) => fc.tuple(fc.constant(labels), entryFor(labels), urlOn(labels))), ([labels, raw, url]) => {
        const entry = blockEntryOf(raw);
        expect([raw, entry]).toEqual([raw, { ok: true, host: canonical(labels) }]);
        const checked = checkLongUrl(url, rules);
        if (!checked.ok) throw new Error(`${url} refused: ${checked.reason}`);
        const list = new HostBlocklist([canonical(labels)]);
        expect([url, list.blocksHref(checked.href), list.blocks(hostOfHref(checked.href))]).toEqual([url, canonical(labels), canonical(labels)]);
      }),
      { numRuns: 3000 },
    );
  });

  test("a host that only ends in the same letters, or a parent domain, is not blocked", () => {
    fc.assert(
      fc.property(domain, asciiLabel, scheme, (labels, prefix, s) => {
        const list = new HostBlocklist([canonical(labels)]);
        const lookalike = [prefix + labels[0], ...labels.slice(1)].join(".");
        expect(list.blocksHref(new URL(`${s}://${lookalike}/`).href)).toBeNull();
        if (labels.length > 2) expect(list.blocksHref(new URL(`${s}://${labels.slice(1).join(".")}/`).href)).toBeNull();
      }),
      { numRuns: 1000 },
    );
  });
});

describe("hostOfHref", () => {
  const userinfo = fc.option(fc.tuple(fc.string({ maxLength: 8 }), fc.option(fc.string({ maxLength: 8 }))), { nil: null });
  const ipv6 = fc.ipV6().map((a) => `[${a}]`);
  const anyHost = fc.oneof(spelled(domain), fc.ipV4(), fc.ipV4Extended(), ipv6);
  const spelledUrl = fc
    .tuple(scheme, userinfo, anyHost, fc.option(fc.integer({ min: 0, max: 65535 }), { nil: null }), fc.oneof(rest, fc.webPath(), fc.webQueryParameters().map((q) => `?${q}`), fc.webFragments().map((f) => `#${f}`)))
    .map(([s, u, h, p, r]) => `${s}://${u === null ? "" : `${encodeURIComponent(u[0])}${u[1] === null ? "" : `:${u[1]}`}@`}${h}${p === null ? "" : `:${p}`}${r}`);
  const urls = fc.oneof(spelledUrl, fc.webUrl({ withQueryParameters: true, withFragments: true, authoritySettings: { withIPv4: true, withIPv6: true, withIPv4Extended: true, withPort: true, withUserInfo: true } }));

  test("is the parser's hostname of a normalised URL, without trailing dots", () => {
    fc.assert(
      fc.property(urls, (raw) => {
        fc.pre(URL.canParse(raw));
        const url = new URL(raw);
        expect([raw, hostOfHref(url.href)]).toEqual([raw, url.hostname.replace(/\.+$/, "")]);
      }),
      { numRuns: 5000 },
    );
  });

  test("lower-cases a hand-written href and reads one without a path", () => {
    expect(hostOfHref("HTTPS://User@Evil.Example.:8443")).toBe("evil.example");
    expect(hostOfHref("https://evil.example?x")).toBe("evil.example");
    expect(hostOfHref("not a url")).toBe("");
  });
});
