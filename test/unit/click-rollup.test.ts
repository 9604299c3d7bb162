import { expect, test } from "bun:test";
import fc from "fast-check";
import { createHmac } from "node:crypto";
import { DIMENSIONS, primaryLanguage, referrerHost, type LinkRollup, type StoredDimension } from "../../src/domain/click-dimensions";
import { clientIp } from "../../src/http/client-ip";
import { ClickLog, FIELDS, HEAD, isQrScan, QR_SCAN, type PackedFacts } from "../../src/modules/analytics/click-log";
import { rollUpInto, RollupMemo, visitorId, type EnrichedClick, type RollupOptions } from "../../src/modules/analytics/click-rollup";
import { IntervalRollup } from "../../src/modules/analytics/interval-rollup";
import { UserAgents } from "../../src/modules/analytics/user-agent";
import { ClickAudience, type AudienceDelta } from "../../src/modules/analytics/click-audience";

/** The log's facts one array per field, in arrival order: what the requests said. */
function unpack(packed: PackedFacts) {
  const value = (id: number) => (id < 0 ? null : packed.values[id]!);
  const field = (f: number) => Array.from({ length: packed.count }, (_, i) => value(packed.ids[i * FIELDS + f]!));
  return { codes: field(0).map((c) => c ?? ""), owners: field(1), peers: field(2).map((p) => p ?? ""), forwarded: field(3), agents: field(4), referrers: field(5), languages: field(6), heads: Array.from(packed.flags, (f) => (f & HEAD) !== 0), scans: Array.from(packed.flags, (f) => (f & QR_SCAN) !== 0) };
}

/** The rollup as its definition says, one click at a time: the oracle for the worker's id-based one. */
function rollUpEachClick(packed: PackedFacts, options: RollupOptions): { links: LinkRollup[]; sample: EnrichedClick[] } {
  const f = unpack(packed);
  const links = new Map<string, { humans: number; bots: number; dims: Map<string, [StoredDimension, string, number, number]>; visitors: Set<string> }>();
  const sample: EnrichedClick[] = [];
  f.codes.forEach((code, i) => {
    const agent = options.agents.of(f.agents[i]!, false);
    const bot = agent.bot || f.heads[i]!;
    const ip = clientIp(f.peers[i]!, f.forwarded[i]!, options.trustedProxies);
    if (sample.length < options.sample) sample.push({ code, owner: f.owners[i]!, country: options.country(ip) ?? "unknown", referrer: referrerHost(f.referrers[i]!), device: agent.device, browser: agent.browser, os: agent.os, bot });
    const link = links.get(code!) ?? links.set(code!, { humans: 0, bots: 0, dims: new Map(), visitors: new Set() }).get(code!)!;
    if (bot) link.bots++;
    else link.humans++;
    const values: Array<[StoredDimension, string]> = [["country", options.country(ip) ?? "unknown"], ["referrer", referrerHost(f.referrers[i]!)], ["device", agent.device], ["browser", agent.browser], ["os", agent.os], ["language", primaryLanguage(f.languages[i]!)], ["source", f.scans[i] ? "qr" : "link"]];
    for (const [dimension, value] of values) {
      const row = link.dims.get(`${dimension}:${value}`) ?? link.dims.set(`${dimension}:${value}`, [dimension, value, 0, 0]).get(`${dimension}:${value}`)!;
      row[2]++;
      row[3] += bot ? 0 : 1;
    }
    if (!bot && options.salt !== null) link.visitors.add(visitorId(options.salt, ip, f.agents[i] ?? ""));
  });
  return { links: [...links].map(([code, l]) => ({ code, humans: l.humans, bots: l.bots, dims: [...l.dims.values()], visitors: [...l.visitors] })), sample };
}
/**
 * Links by code, each link's rows by dimension then value: the order either is listed in carries
 * no meaning (links come in the order of their codes' numbers in the flush, and a code may have
 * been numbered first as another field's value).
 */
function byDimension(r: { links: LinkRollup[]; sample: EnrichedClick[] }) {
  const order: StoredDimension[] = ["country", "referrer", "device", "browser", "os", "language", "source"];
  const rank = (row: LinkRollup["dims"][number]) => `${order.indexOf(row[0])}\u0000${row[1]}`;
  return { ...r, links: [...r.links].sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0)).map((l) => ({ ...l, dims: [...l.dims].sort((a, b) => (rank(a) < rank(b) ? -1 : rank(a) > rank(b) ? 1 : 0)) })) };
}


/** One batch into a fresh interval, drained: that batch's rollups. */
function rollUp(packed: PackedFacts, options: RollupOptions): { links: LinkRollup[]; sample: EnrichedClick[]; audience: AudienceDelta } {
  const interval = new IntervalRollup();
  const { sample, audience } = rollUpInto(interval, packed, options);
  return { links: interval.drain(), sample, audience };
}

/** The dashboard's share of some rollups, read off their rows: what a batch's audience must be. */
function audienceOfRows(links: readonly LinkRollup[]): AudienceDelta {
  const sums = { country: new Map<string, number>(), referrer: new Map<string, number>(), device: new Map<string, number>() };
  for (const link of links) for (const [dimension, value, clicks] of link.dims) if (dimension in sums) sums[dimension as keyof typeof sums].set(value, (sums[dimension as keyof typeof sums].get(value) ?? 0) + clicks);
  return sortedAudience({ humans: links.reduce((n, l) => n + l.humans, 0), bots: links.reduce((n, l) => n + l.bots, 0), values: { country: [...sums.country], referrer: [...sums.referrer], device: [...sums.device] } });
}

/** An audience with each dimension's values in one order (the order they are listed in carries no meaning). */
function sortedAudience(d: AudienceDelta): AudienceDelta {
  const sorted = (pairs: Array<[string, number]>) => [...pairs].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return { ...d, values: { country: sorted(d.values.country), referrer: sorted(d.values.referrer), device: sorted(d.values.device) } };
}

test.each([
  [null, "direct"],
  ["", "direct"],
  ["https://www.Google.com/search?q=1", "google.com"],
  ["http://news.ycombinator.com/item?id=1", "news.ycombinator.com"],
  ["android-app://com.slack/", "com.slack"],
  ["javascript:alert(1)", "other"],
  ["not a url", "other"],
])("referrer %p is %p", (referrer, host) => {
  expect(referrerHost(referrer)).toBe(host);
});

test.each([
  [null, "unknown"],
  ["en-US,en;q=0.9", "en"],
  ["DE", "de"],
  ["zh-Hant-TW", "zh"],
  ["*", "unknown"],
  ["x-klingon", "unknown"],
  [";q=1", "unknown"],
])("Accept-Language %p is %p", (header, language) => {
  expect(primaryLanguage(header)).toBe(language);
});

test("user agents: families, device types, bots (crawlers, preview fetchers, none, HEAD)", () => {
  const agents = new UserAgents(100);
  expect(agents.of("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", false)).toEqual({ device: "mobile", browser: "Safari", os: "iOS", bot: false });
  expect(agents.of("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15", false)).toEqual({ device: "desktop", browser: "Safari", os: "macOS", bot: false });
  for (const bot of ["WhatsApp/2.23.20.0", "Twitterbot/1.0", "Discordbot/2.0", "TelegramBot (like TwitterBot)", "LinkedInBot/1.0", "facebookexternalhit/1.1"]) expect(agents.of(bot, false).bot).toBe(true);
  expect(agents.of(null, false).bot).toBe(true);
  const chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
  expect(agents.of(chrome, true)).toEqual({ device: "desktop", browser: "Chrome", os: "Windows", bot: true });
  // HEAD does not leak into the cached answer for the same agent.
  expect(agents.of(chrome, false).bot).toBe(false);
});

const headerText = fc.option(fc.oneof(fc.string({ maxLength: 80 }), fc.constantFrom("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", "curl/8.5.0", "https://t.co/x", "en-GB,en;q=0.8")), { nil: null });
const click = fc.record({
  code: fc.constantFrom("a1", "b2", "c3", "d4"),
  // Often the trusted proxy, so X-Forwarded-For decides the client; values repeat, as in a flush.
  peer: fc.oneof(fc.constantFrom("127.0.0.1", "127.0.0.1", "8.8.4.4", "::ffff:127.0.0.1"), fc.ipV4(), fc.ipV6(), fc.string({ maxLength: 20 })),
  forwarded: fc.oneof(headerText, fc.constantFrom("8.8.8.8", "9.9.9.9, 8.8.8.8", "8.8.8.8, 127.0.0.1", "junk")),
  owner: fc.option(fc.constantFrom("key-a", "key-b"), { nil: null }),
  resolved: fc.boolean(),
  agent: headerText,
  referrer: headerText,
  language: headerText,
  head: fc.boolean(),
  scan: fc.boolean(),
});

type Click = typeof click extends fc.Arbitrary<infer T> ? T : never;
const sent = (value: string) => value.replace(/[\r\n\0]/g, "");

/** Each click into the log, with the headers its request would carry. */
function logAll(log: ClickLog, clicks: readonly Click[]): void {
  for (const c of clicks) {
    const headers = new Headers();
    if (c.forwarded !== null) headers.set("x-forwarded-for", sent(c.forwarded));
    if (c.agent !== null) headers.set("user-agent", sent(c.agent));
    if (c.referrer !== null) headers.set("referer", sent(c.referrer));
    if (c.language !== null) headers.set("accept-language", sent(c.language));
    // `resolved`: the rate limiter already resolved the client's address (no X-Forwarded-For kept).
    log.append(c.code, c.owner, c.peer, headers, (c.head ? HEAD : 0) | (c.scan ? QR_SCAN : 0), c.resolved);
  }
}

/** What unpack() must give back for these clicks: each header as Headers keeps it. */
function asLogged(clicks: readonly Click[]): ReturnType<typeof unpack> {
  const header = (name: string, value: string | null) => (value === null ? null : new Headers({ [name]: sent(value) }).get(name));
  return {
    codes: clicks.map((c) => c.code),
    owners: clicks.map((c) => c.owner),
    peers: clicks.map((c) => c.peer),
    forwarded: clicks.map((c) => (c.resolved ? null : header("x-forwarded-for", c.forwarded))),
    agents: clicks.map((c) => header("user-agent", c.agent)),
    referrers: clicks.map((c) => header("referer", c.referrer)),
    languages: clicks.map((c) => header("accept-language", c.language)),
    heads: clicks.map((c) => c.head),
    scans: clicks.map((c) => c.scan),
  };
}

test("property: a log drained and used again gives back each flush's clicks as sent (its values are numbered again); a drain not released is never written over, a released one is written into again", () => {
  fc.assert(
    fc.property(fc.array(click, { maxLength: 40 }), fc.array(click, { maxLength: 40 }), fc.array(click, { minLength: 1, maxLength: 40 }), (first, second, third) => {
      const log = new ClickLog(100);
      logAll(log, first);
      const one = log.drain();
      logAll(log, second);
      const two = log.drain();
      expect([unpack(one), unpack(two)]).toEqual([asLogged(first), asLogged(second)]);
      log.release(one);
      const held = unpack(two);
      logAll(log, third);
      const three = log.drain();
      // Two held at once (the worker still reading one) never share memory.
      expect(unpack(two)).toEqual(held);
      expect(unpack(three)).toEqual(asLogged(third));
      logAll(log, first);
      const four = log.drain();
      expect(unpack(two)).toEqual(held);
      expect(unpack(four)).toEqual(asLogged(first));
      if (second.length > 0) expect([three.ids.buffer, four.ids.buffer]).not.toContain(two.ids.buffer);
      // The log counts each flush's clicks per code, for the click counter.
      const perCode = (clicks: typeof first) => clicks.reduce((m, c) => m.set(c.code, (m.get(c.code) ?? 0) + 1), new Map<string, number>());
      expect([one.perCode, two.perCode]).toEqual([perCode(first), perCode(second)]);
      expect(two.values.length).toBeLessThanOrEqual(new Set(second.flatMap((c) => [c.code, c.owner, c.peer, c.forwarded, c.agent, c.referrer, c.language])).size);
    }),
    { numRuns: 300 },
  );
});

test("a log whose drains are released after each flush writes into two buffers, flush after flush", () => {
  const log = new ClickLog(10_000);
  const buffers = new Set<ArrayBufferLike>();
  for (let flush = 0; flush < 10; flush++) {
    for (let i = 0; i < 5000; i++) log.append(`c${i % 7}`, null, "127.0.0.1", new Headers({ "user-agent": "UA" }), 0);
    const packed = log.drain();
    expect(packed.count).toBe(5000);
    expect(packed.perCode.get("c0")).toBe(715);
    buffers.add(packed.ids.buffer);
    log.release(packed);
  }
  expect(buffers.size).toBe(2);
});

test("property: for any clicks, each dimension's values sum to the link's clicks, humans + bots = clicks, visitors <= humans, and the log keeps at most its capacity", () => {
  const agents = new UserAgents(50);
  // Small, so entries are evicted and looked up again across runs.
  const memo = new RollupMemo(8);
  fc.assert(
    fc.property(fc.array(click, { maxLength: 60 }), fc.integer({ min: 1, max: 80 }), (clicks, capacity) => {
      const log = new ClickLog(capacity);
      logAll(log, clicks);
      const packed = log.drain();
      const facts = unpack(packed);
      expect(facts.codes.length).toBe(Math.min(capacity, clicks.length));
      // What the request said, as it said it, in arrival order (values are stored once and referenced).
      expect(facts).toEqual(asLogged(clicks.slice(0, capacity)));
      expect(log.unenriched).toBe(Math.max(0, clicks.length - capacity));
      const options = { agents, country: (ip: string) => (ip.startsWith("8.") ? "US" : ip.startsWith("9.") ? "DE" : null), trustedProxies: ["127.0.0.1"], salt: "salt", sample: 5 };
      const { links, sample, audience } = rollUp(packed, options);
      // The same as adding up one click at a time; the worker's memo of seen lookups changes nothing.
      expect(byDimension({ links, sample })).toEqual(byDimension(rollUpEachClick(packed, options)));
      expect(sortedAudience(audience)).toEqual(audienceOfRows(links));
      expect(byDimension(rollUp(packed, { ...options, salt: null })).links).toEqual(byDimension(rollUpEachClick(packed, { ...options, salt: null })).links);
      expect(rollUp(packed, { ...options, memo }).links).toEqual(links);
      const perCode = new Map<string, number>();
      for (const code of facts.codes) perCode.set(code, (perCode.get(code) ?? 0) + 1);
      for (const link of links) {
        const clicksOf = perCode.get(link.code)!;
        expect(link.humans + link.bots).toBe(clicksOf);
        expect(link.visitors.length).toBeLessThanOrEqual(link.humans);
        // bot is the rollup's own humans and bots; every other dimension is a breakdown.
        for (const dimension of DIMENSIONS.filter((d) => d !== "bot")) {
          const rows = link.dims.filter((d) => d[0] === dimension);
          expect(rows.reduce((n, d) => n + d[2], 0)).toBe(clicksOf);
          expect(rows.reduce((n, d) => n + d[3], 0)).toBe(link.humans);
        }
      }
      expect(links.map((l) => l.code).sort()).toEqual([...perCode.keys()].sort());
    }),
    { numRuns: 300 },
  );
});

test("visitor ids: the same address and agent under one salt are one visitor; another salt makes them another", () => {
  const agents = new UserAgents(10);
  const facts = (n: number) => {
    const log = new ClickLog(10);
    const headers = new Headers({ "user-agent": "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0" });
    for (let i = 0; i < n; i++) log.append("a1", null, "8.8.8.8", headers, 0);
    return log.drain();
  };
  const options = { agents, country: () => null, trustedProxies: [], sample: 0 };
  const day1 = rollUp(facts(3), { ...options, salt: "day-1" }).links[0]!.visitors;
  const day1Again = rollUp(facts(1), { ...options, salt: "day-1" }).links[0]!.visitors;
  const day2 = rollUp(facts(1), { ...options, salt: "day-2" }).links[0]!.visitors;
  expect(day1).toHaveLength(1);
  expect(day1Again).toEqual(day1);
  expect(day2).not.toEqual(day1);
  expect(rollUp(facts(2), { ...options, salt: null }).links[0]!.visitors).toEqual([]);
});

test("property: a visitor id is the first 64 bits of HMAC-SHA256(salt, address NUL agent), so ids made before and after a change of hasher agree within a day", () => {
  fc.assert(
    fc.property(fc.string({ minLength: 1 }), fc.string(), fc.string(), (salt, ip, agent) => {
      const digest = createHmac("sha256", salt).update(ip).update("\u0000").update(agent).digest();
      expect(visitorId(salt, ip, agent)).toBe(digest.readBigInt64BE(0).toString());
    }),
    { numRuns: 300 },
  );
});

test("an interval's rollups take in another thread's: counts summed, visitors united, then the interval is empty", () => {
  const interval = new IntervalRollup();
  interval.absorb([{ code: "a1", humans: 2, bots: 1, dims: [["country", "US", 3, 2]], visitors: ["1", "2"] }]);
  interval.absorb([
    { code: "a1", humans: 1, bots: 0, dims: [["country", "US", 1, 1], ["os", "iOS", 1, 1]], visitors: ["2", "3"] },
    { code: "b2", humans: 0, bots: 4, dims: [], visitors: [] },
  ]);
  expect(interval.size).toBe(2);
  expect(interval.drain()).toEqual([
    { code: "a1", humans: 3, bots: 1, dims: [["country", "US", 4, 3], ["os", "iOS", 1, 1]], visitors: ["1", "2", "3"] },
    { code: "b2", humans: 0, bots: 4, dims: [], visitors: [] },
  ]);
  expect(interval.drain()).toEqual([]);
});

test("property: flushes added into one interval, split anywhere, are the rollup of all their clicks at once; the next interval starts from nothing", () => {
  const agents = new UserAgents(50);
  fc.assert(
    fc.property(fc.array(click, { maxLength: 60 }), fc.array(fc.nat(60), { maxLength: 4 }), (clicks, cuts) => {
      const logOf = (part: typeof clicks) => {
        const log = new ClickLog(1000);
        for (const c of part) {
          const headers = new Headers();
          if (c.agent !== null) headers.set("user-agent", c.agent.replace(/[\r\n\0]/g, ""));
          if (c.referrer !== null) headers.set("referer", c.referrer.replace(/[\r\n\0]/g, ""));
          log.append(c.code, c.owner, c.peer, headers, (c.head ? HEAD : 0) | (c.scan ? QR_SCAN : 0), c.resolved);
        }
        return log.drain();
      };
      const options = { agents, country: (ip: string) => (ip.startsWith("8.") ? "US" : null), trustedProxies: ["127.0.0.1"], salt: "salt", sample: 0 };
      const bounds = [0, ...[...cuts].sort((a, b) => a - b).map((n) => Math.min(n, clicks.length)), clicks.length];
      const interval = new IntervalRollup();
      rollUpInto(interval, logOf(clicks.slice().reverse()), options);
      interval.drain();
      for (let i = 1; i < bounds.length; i++) rollUpInto(interval, logOf(clicks.slice(bounds[i - 1], bounds[i])), options);
      const all = rollUp(logOf(clicks), options);
      expect(byDimension({ links: interval.drain(), sample: [] })).toEqual(byDimension({ links: all.links, sample: [] }));
    }),
    { numRuns: 200 },
  );
});

test("a drain keeps the owners of the first clicks it is asked for (the stream's sample) and leaves the rest out", () => {
  const log = new ClickLog(10);
  const headers = new Headers();
  for (let i = 0; i < 5; i++) log.append(`c${i}`, `k${i}`, "10.0.0.1", headers, 0);
  const facts = unpack(log.drain(2));
  expect([facts.codes, facts.owners]).toEqual([["c0", "c1", "c2", "c3", "c4"], ["k0", "k1", null, null, null]]);
  log.append("c9", "k9", "10.0.0.1", headers, 0);
  expect(unpack(log.drain(0)).owners).toEqual([null]);
});

test("a log that keeps owners for its first clicks only never hands over more, flush after flush", () => {
  const log = new ClickLog(10, 2);
  const headers = new Headers();
  for (let i = 0; i < 4; i++) log.append(`c${i}`, `k${i}`, "10.0.0.1", headers, 0);
  expect(unpack(log.drain()).owners).toEqual(["k0", "k1", null, null]);
  for (let i = 5; i < 8; i++) log.append(`c${i}`, `k${i}`, "10.0.0.1", headers, 0);
  const next = unpack(log.drain(1));
  expect([next.codes, next.owners]).toEqual([["c5", "c6", "c7"], ["k5", null, null]]);
});

test("the log grows past its first block and stores a repeated value once", () => {
  const log = new ClickLog(10_000);
  const headers = new Headers({ "user-agent": "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0" });
  for (let i = 0; i < 6000; i++) log.append(`c${i % 3}`, null, `10.0.0.${i % 5}`, headers, i % 2 === 0 ? HEAD : 0);
  const packed = log.drain();
  expect(packed.count).toBe(6000);
  // 3 codes, 5 addresses, 1 user agent.
  expect(packed.values).toHaveLength(9);
  const facts = unpack(packed);
  expect([facts.codes[5999], facts.peers[5999], facts.heads[5999], facts.heads[5998]]).toEqual(["c2", "10.0.0.4", false, true]);
  expect(log.drain().count).toBe(0);
});

test("the audiences of batches (computed in the worker) add up on the instance: humans, bots, and clicks per shown value", () => {
  const audience = new ClickAudience();
  audience.add({ humans: 3, bots: 1, values: { country: [["US", 4]], referrer: [["t.co", 1]], device: [["mobile", 2], ["other", 1]] } });
  audience.add({ humans: 1, bots: 0, values: { country: [["US", 1]], referrer: [["t.co", 1]], device: [] } });
  expect(audience.figures(5)).toEqual({ humans: 4, bots: 1, top: { country: [{ value: "US", clicks: 5 }], referrer: [{ value: "t.co", clicks: 2 }], device: [{ value: "mobile", clicks: 2 }, { value: "other", clicks: 1 }] } });
});

test.each([
  ["http://s.test/abc?qr=1", true],
  ["http://s.test/abc?x=2&qr=1", true],
  ["http://s.test/abc?qr=1&x=2", true],
  ["http://s.test/abc", false],
  ["http://s.test/abc?qr=10", false],
  ["http://s.test/abc?xqr=1", false],
  ["http://s.test/abc?qr=0", false],
])("%p is a QR scan: %p", (url, scan) => {
  expect(isQrScan(url)).toBe(scan);
});
