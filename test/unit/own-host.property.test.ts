import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { checkLongUrl } from "../../src/domain/long-url";
import { ownHostRule } from "../../src/domain/own-host";

/**
 * Links back to this deployment, spelled every way the URL parser accepts, are refused through
 * the check POST /create runs; hosts that are not ours, spelled just as freely, are accepted.
 */
const rules = {
  maxLength: 2048,
  isOwnHost: ownHostRule({ publicBaseUrl: "https://sho.rt", host: "0.0.0.0", extraHosts: ["go.example", "198.51.100.9"], machineHosts: ["vm", "10.1.2.3", "fe80::1"] }),
};
const OWN = "url points back at this service";
const reasonFor = (url: string) => {
  const result = checkLongUrl(url, rules);
  return result.ok ? "accepted" : result.reason;
};

// Not "xn--…": that is punycode, which the parser decodes and may refuse.
const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/).filter((l) => !l.startsWith("xn--"));
const caseFlips = fc.array(fc.boolean(), { minLength: 64, maxLength: 64 });
const recase = (text: string, flips: boolean[]) => [...text].map((ch, i) => (flips[i % flips.length] ? ch.toUpperCase() : ch)).join("");

/** A host name with random capitals and, sometimes, trailing dots. */
const spellName = (names: fc.Arbitrary<string>) =>
  fc.tuple(names, caseFlips, fc.integer({ min: 0, max: 2 })).map(([name, flips, dots]) => recase(name, flips) + ".".repeat(dots));

/** Every IPv4 text form the parser reads: 1-4 parts, each decimal, hex or octal, and an optional trailing dot. */
const spellIpv4 = (address: fc.Arbitrary<number>) =>
  fc.tuple(address, fc.integer({ min: 1, max: 4 }), fc.array(fc.constantFrom("dec", "hex", "HEX", "oct"), { minLength: 4, maxLength: 4 }), fc.boolean()).map(([n, count, radixes, dot]) => {
    const bytes = [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
    const last = bytes.slice(count - 1).reduce((acc, b) => acc * 256 + b, 0);
    const parts = [...bytes.slice(0, count - 1), last].map((value, i) => {
      const radix = radixes[i];
      if (radix === "hex") return `0x${value.toString(16)}`;
      if (radix === "HEX") return `0X${value.toString(16).toUpperCase()}`;
      if (radix === "oct") return `0${value.toString(8)}`;
      return String(value);
    });
    return parts.join(".") + (dot ? "." : "");
  });

const dotted = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");

/** Eight groups in brackets: leading zeros, capitals, one run of zeros as "::" or none, and the last 32 bits dotted or not. */
const spellIpv6 = (groups: fc.Arbitrary<number[]>) =>
  fc
    .tuple(groups, fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 8, maxLength: 8 }), fc.boolean(), fc.boolean(), fc.nat())
    .map(([g, pads, upper, dottedTail, pick]) => {
      const text = g.map((v, i) => {
        const hex = v.toString(16).padStart(Math.min(4, v.toString(16).length + pads[i]!), "0");
        return upper ? hex.toUpperCase() : hex;
      });
      const tail = dottedTail ? [dotted(g[6]! * 65536 + g[7]!)] : text.slice(6);
      const parts = [...text.slice(0, 6), ...tail];
      const zeroRuns: Array<[number, number]> = [];
      for (let i = 0; i < parts.length; i++) {
        for (let j = i; j < parts.length && (dottedTail && j === 6 ? g[6] === 0 && g[7] === 0 : g[j] === 0); j++) zeroRuns.push([i, j + 1]);
      }
      if (zeroRuns.length === 0 || pick % 3 === 0) return `[${parts.join(":")}]`;
      const [from, to] = zeroRuns[pick % zeroRuns.length]!;
      return `[${parts.slice(0, from).join(":")}::${parts.slice(to).join(":")}]`;
    });

const v4Groups = (prefix: number[]) => (n: number) => [...prefix, Math.floor(n / 65536), n % 65536];

const loopbackV4 = fc.integer({ min: 0, max: 0xffffff }).map((low) => 127 * 2 ** 24 + low);
const thisNetworkV4 = fc.integer({ min: 0, max: 0xffffff });
const machineV4 = fc.constantFrom(0x0a010203, 0xc6336409); // 10.1.2.3 and OWN_HOSTNAMES' 198.51.100.9
const ownV4 = fc.oneof(loopbackV4, thisNetworkV4, machineV4);

const ownHost = fc.oneof(
  spellName(fc.constantFrom("localhost", "sho.rt", "go.example", "vm", "localhost.localdomain", "ip6-localhost")),
  spellName(fc.array(label, { minLength: 1, maxLength: 3 }).map((labels) => `${labels.join(".")}.localhost`)),
  spellIpv4(ownV4),
  spellIpv6(ownV4.map(v4Groups([0, 0, 0, 0, 0, 0xffff]))), // mapped
  spellIpv6(ownV4.map(v4Groups([0, 0, 0, 0, 0, 0]))), // compatible, which includes :: and ::1
  spellIpv6(ownV4.map(v4Groups([0, 0, 0, 0, 0xffff, 0]))), // translated
  spellIpv6(fc.constant([0xfe80, 0, 0, 0, 0, 0, 0, 1])),
);

const port = fc.option(fc.integer({ min: 0, max: 65535 }), { nil: undefined });
const scheme = fc.constantFrom("http", "https", "HTTP", "Https");
const rest = fc.constantFrom("", "/", "/x", "/8sHulm2g6M", "/launch-2027?utm=1", "/a/b?c=d#e", "?q=1");

const urlOn = (host: fc.Arbitrary<string>) =>
  fc.tuple(scheme, host, port, rest).map(([s, h, p, r]) => `${s}://${h}${p === undefined ? "" : `:${p}`}${r}`);

// Public addresses outside 0/8, 127/8 and ours.
const foreignV4 = fc.integer({ min: 0x01000000, max: 0xdfffffff }).filter((n) => n >>> 24 !== 127 && n !== 0x0a010203 && n !== 0xc6336409);
const foreignHost = fc.oneof(
  spellName(fc.array(label, { minLength: 0, maxLength: 3 }).map((labels) => [...labels, "example", "com"].join("."))),
  spellName(fc.constantFrom("localhost.example.com", "sho.rt.example", "xlocalhost", "localhost-1.example", "127.0.0.1.example", "vm.example", "go.example.org", "93.184.216.34.nip.example")),
  spellIpv4(fc.oneof(foreignV4, fc.constant(0x5db8d822))), // 93.184.216.34
  spellIpv6(fc.tuple(fc.integer({ min: 1, max: 0xffff }), fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 7, maxLength: 7 })).map(([first, others]) => [0x2001, first, ...others.slice(1)])),
);

describe("links to ourselves", () => {
  test("every spelling of one of our hosts is refused, on any port", () => {
    fc.assert(
      fc.property(urlOn(ownHost), (url) => {
        // Bun's parser refuses a few valid IPv6 spellings ([1:0:0::0:0.0.0.1]); those are refused before the host rule.
        expect([url, reasonFor(url)]).toEqual([url, URL.canParse(url) ? OWN : "url is not an absolute URL"]);
      }),
      { numRuns: 3000 },
    );
  });

  test("a short URL of this service is refused however it is spelled", () => {
    fc.assert(
      fc.property(fc.tuple(scheme, spellName(fc.constant("sho.rt")), port, fc.stringMatching(/^[1-9A-Za-z][0-9A-Za-z]{9}$/)), ([s, host, p, code]) => {
        const url = `${s}://${host}${p === undefined ? "" : `:${p}`}/${code}`;
        expect([url, reasonFor(url)]).toEqual([url, OWN]);
      }),
    );
  });

  test("hosts that are not ours are accepted, however they are spelled", () => {
    fc.assert(
      fc.property(urlOn(foreignHost), (url) => {
        // Bun's parser refuses a few valid IPv6 spellings here too ([2001:1:0:0::0.0.0.0]; Node's takes it): refused as unparsable, never as ours.
        expect([url, reasonFor(url)]).toEqual([url, URL.canParse(url) ? "accepted" : "url is not an absolute URL"]);
      }),
      { numRuns: 2000 },
    );
  });
});
