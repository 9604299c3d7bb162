import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { clientIp } from "../../src/http/client-ip";

/** The rule as the doc states it, written the plain way: every hop split out, then the right-most untrusted one. */
function byTheRule(peer: string | undefined, forwardedFor: string | null, trusted: readonly string[]): string {
  const normal = (ip: string) => (ip.startsWith("::ffff:") && ip.includes(".") ? ip.slice(7) : ip);
  const direct = normal(peer ?? "unknown");
  if (!forwardedFor || !trusted.includes(direct)) return direct;
  const hops = forwardedFor.split(",").map((s) => normal(s.trim())).filter((s) => s.length > 0);
  return hops.findLast((hop) => !trusted.includes(hop)) ?? direct;
}

describe("clientIp", () => {
  test("ignores X-Forwarded-For from an untrusted peer", () => {
    expect(clientIp("198.51.100.9", "1.2.3.4", ["127.0.0.1"])).toBe("198.51.100.9");
  });
  test("takes the right-most untrusted hop behind a trusted proxy", () => {
    expect(clientIp("127.0.0.1", "6.6.6.6, 198.51.100.7", ["127.0.0.1"])).toBe("198.51.100.7");
    expect(clientIp("10.0.0.2", "198.51.100.7, 10.0.0.3", ["10.0.0.2", "10.0.0.3"])).toBe("198.51.100.7");
  });
  test("falls back to the peer when the header holds only proxies", () => {
    expect(clientIp("127.0.0.1", "127.0.0.1", ["127.0.0.1"])).toBe("127.0.0.1");
  });
  test("normalises IPv4-mapped IPv6 peers", () => {
    expect(clientIp("::ffff:127.0.0.1", "203.0.113.5", ["127.0.0.1"])).toBe("203.0.113.5");
  });
  test("any header, peer and proxy list: the same client as the rule read plainly", () => {
    const address = fc.constantFrom("127.0.0.1", "10.0.0.2", "10.0.0.3", "198.51.100.7", "::1", "2001:db8::5", "::ffff:10.0.0.2", "::ffff:203.0.113.9", "unknown", "");
    const hop = fc.tuple(fc.constantFrom("", " ", "  ", "\t"), fc.oneof(address, fc.string({ maxLength: 8 })), fc.constantFrom("", " ", "\t"));
    fc.assert(
      fc.property(
        fc.option(address, { nil: undefined }),
        fc.option(fc.array(hop, { maxLength: 6 }).map((hops) => hops.map((h) => h.join("")).join(",")), { nil: null }),
        fc.uniqueArray(address, { maxLength: 3 }),
        (peer, forwardedFor, trusted) => {
          expect(clientIp(peer, forwardedFor, trusted)).toBe(byTheRule(peer, forwardedFor, trusted));
        },
      ),
      { numRuns: 5000 },
    );
  });
  test("unknown peer", () => {
    expect(clientIp(undefined, null, [])).toBe("unknown");
  });
});
