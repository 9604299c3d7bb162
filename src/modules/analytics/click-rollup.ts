import { LRUCache } from "lru-cache";
import { primaryLanguage, referrerHost, type LinkRollup, type StoredDimension } from "../../domain/click-dimensions";
import { clientIp } from "../../http/client-ip";
import { FIELDS, HEAD, QR_SCAN, type PackedFacts } from "./click-log";
import type { AgentFacts, UserAgents } from "./user-agent";

/** What the live stream shows of an enriched click. */
export interface EnrichedClick {
  code: string;
  owner: string | null;
  country: string;
  referrer: string;
  device: AgentFacts["device"];
  browser: string;
  os: string;
  bot: boolean;
}

export interface RollupOptions {
  agents: UserAgents;
  /** ISO country of an address; null when unknown or geo is off. */
  country: (ip: string) => string | null;
  /** Referrer hosts kept between batches, when given. */
  memo?: RollupMemo;
  trustedProxies: readonly string[];
  /** The day's salt; null when unique visitors are off. */
  salt: string | null;
  /** How many enriched clicks to hand back for the stream (0 when nobody listens). */
  sample: number;
}

/**
 * A batch of raw click facts enriched and summed per link: humans and bots, clicks and humans
 * per dimension value, and the visitor ids of the humans (for the unique count). Runs in the
 * analytics worker; pure apart from the lookups it is given.
 *
 * A visitor id is an HMAC of client address and user agent under the day's salt, cut to 64 bits:
 * the same person on the same day is the same id on every instance, and once the salt is gone
 * (it is never kept past its day) no id can be tied back to an address.
 *
 * Works on the log's value ids, not on each click's strings: a flush repeats the same codes,
 * agents, addresses and headers, so every lookup (agent parse, client address, country, referrer
 * host, language, visitor id) runs once per distinct value of the batch. A click is counted per
 * link under its raw ids (agent, client, referrer, language: four numeric map updates), and
 * each distinct raw id of a link becomes its dimension rows once, at the end: the agent gives
 * device, browser and OS, the client its country. Measured: building the click's own strings and
 * keys made the worker the largest CPU cost of analytics on a 2-core machine, and counting each
 * click under its seven dimension values was half of what was left.
 */
export function rollUp(packed: PackedFacts, options: RollupOptions): { links: LinkRollup[]; sample: EnrichedClick[] } {
  const { values, ids, flags } = packed;
  const width = values.length + 1;
  const valueOf = (id: number) => (id < 0 ? null : values[id]!);
  const memo = options.memo;
  const agentOf = perValue(width, (id) => options.agents.of(valueOf(id), false));
  const hostOf = perValue(width, (id) => {
    const referrer = valueOf(id);
    return memo ? memo.referrerHost(referrer ?? "", () => referrerHost(referrer)) : referrerHost(referrer);
  });
  const languageOf = perValue(width, (id) => primaryLanguage(valueOf(id)));
  // One entry per distinct (peer, forwarded) pair, keyed (peer + 1) * width + forwarded + 1:
  // the client address, its country, and its visitors by user agent.
  const clientOf = oncePerKey((pair: number) => {
    const ip = clientIp(valueOf(Math.floor(pair / width) - 1) ?? "", valueOf((pair % width) - 1), options.trustedProxies);
    const salt = options.salt;
    return { ip, country: options.country(ip) ?? "unknown", visitorOf: salt === null ? null : oncePerKey((agentId: number) => visitorId(salt, ip, valueOf(agentId) ?? "")) };
  });

  const byCode: Array<LinkSums | undefined> = new Array(width);
  const order: LinkSums[] = [];
  const sample: EnrichedClick[] = [];
  for (let i = 0; i < packed.count; i++) {
    const at = i * FIELDS;
    const codeId = ids[at]!;
    const agentId = ids[at + 4]!;
    const agent = agentOf(agentId);
    const pair = (ids[at + 2]! + 1) * width + ids[at + 3]! + 1;
    const client = clientOf(pair);
    const bot = agent.bot || (flags[i]! & HEAD) !== 0;
    let link = byCode[codeId + 1];
    if (link === undefined) order.push((byCode[codeId + 1] = link = newLinkSums(valueOf(codeId) ?? "")));
    const human = bot ? 0 : 1;
    if (human) link.humans++;
    else link.bots++;
    count(link.agents, agentId, human);
    count(link.clients, pair, human);
    count(link.referrers, ids[at + 5]!, human);
    count(link.languages, ids[at + 6]!, human);
    const source = (flags[i]! & QR_SCAN) === 0 ? 0 : 2;
    link.sources[source]!++;
    link.sources[source + 1]! += human;
    if (human && client.visitorOf) link.visitors.add(client.visitorOf(agentId));
    if (sample.length < options.sample) {
      sample.push({ code: link.code, owner: valueOf(ids[at + 1]!), country: client.country, referrer: hostOf(ids[at + 5]!), device: agent.device, browser: agent.browser, os: agent.os, bot });
    }
  }
  const interned = new Map<string, number>();
  const intern = (value: string) => {
    let n = interned.get(value);
    if (n === undefined) interned.set(value, (n = interned.size));
    return n;
  };
  const links = order.map((link) => {
    const rows = new DimensionRows(intern);
    for (const [pair, [clicks, humans]] of link.clients) rows.add("country", clientOf(pair).country, clicks, humans);
    for (const [id, [clicks, humans]] of link.referrers) rows.add("referrer", hostOf(id), clicks, humans);
    for (const [agentId, [clicks, humans]] of link.agents) {
      const agent = agentOf(agentId);
      rows.add("device", agent.device, clicks, humans);
      rows.add("browser", agent.browser, clicks, humans);
      rows.add("os", agent.os, clicks, humans);
    }
    for (const [id, [clicks, humans]] of link.languages) rows.add("language", languageOf(id), clicks, humans);
    if (link.sources[0]! > 0) rows.add("source", "link", link.sources[0]!, link.sources[1]!);
    if (link.sources[2]! > 0) rows.add("source", "qr", link.sources[2]!, link.sources[3]!);
    return { code: link.code, humans: link.humans, bots: link.bots, dims: rows.list(), visitors: [...link.visitors] };
  });
  return { links, sample };
}

/** A link's clicks in a batch, by the raw ids they came with: [clicks, humans] per id. */
interface LinkSums {
  code: string;
  humans: number;
  bots: number;
  agents: Map<number, [number, number]>;
  clients: Map<number, [number, number]>;
  referrers: Map<number, [number, number]>;
  languages: Map<number, [number, number]>;
  /** Clicks and humans from the link itself, then from its QR code. */
  sources: [number, number, number, number];
  visitors: Set<string>;
}

const newLinkSums = (code: string): LinkSums => ({ code, humans: 0, bots: 0, agents: new Map(), clients: new Map(), referrers: new Map(), languages: new Map(), sources: [0, 0, 0, 0], visitors: new Set() });

function count(sums: Map<number, [number, number]>, key: number, human: number): void {
  const row = sums.get(key);
  if (row === undefined) sums.set(key, [1, human]);
  else {
    row[0]++;
    row[1] += human;
  }
}

const STORED: readonly StoredDimension[] = ["country", "referrer", "device", "browser", "os", "language", "source"];
/** Each stored dimension's place in STORED, part of a row's numeric key. */
const COLUMN = Object.fromEntries(STORED.map((d, i) => [d, i])) as Record<StoredDimension, number>;

/**
 * One link's dimension rows, [dimension, value, clicks, humans], each value once per dimension;
 * keyed by the value's number in the batch (`intern`), so no key string is built per row.
 */
class DimensionRows {
  private readonly rows = new Map<number, [StoredDimension, string, number, number]>();

  constructor(private readonly intern: (value: string) => number) {}

  add(dimension: StoredDimension, value: string, clicks: number, humans: number): void {
    const key = this.intern(value) * STORED.length + COLUMN[dimension];
    const row = this.rows.get(key);
    if (row === undefined) this.rows.set(key, [dimension, value, clicks, humans]);
    else {
      row[2] += clicks;
      row[3] += humans;
    }
  }

  list(): Array<[StoredDimension, string, number, number]> {
    return [...this.rows.values()];
  }
}

/**
 * Referrer hosts seen recently, kept by the worker between batches: the same referrers come back
 * flush after flush. (Countries are remembered by the lookup itself, countryLookup's `remember`.)
 * Visitor ids are not kept: building the key and keeping it cost a new visitor more than the HMAC
 * it saves a returning one (one worker thread enriched 114,000–126,000 new visitors a second with
 * it, 154,000–170,000 without); a batch still makes each one once.
 */
export class RollupMemo {
  private readonly referrers: LRUCache<string, string>;

  constructor(maxEntries: number) {
    this.referrers = new LRUCache({ max: maxEntries });
  }

  referrerHost(referrer: string, parse: () => string): string {
    const known = this.referrers.get(referrer);
    if (known !== undefined) return known;
    const host = parse();
    this.referrers.set(referrer, host);
    return host;
  }
}

/** `compute` runs once per key (a batch's lookups: each distinct value of the batch is worked out once). */
function oncePerKey<K, V>(compute: (key: K) => V): (key: K) => V {
  const seen = new Map<K, V>();
  return (key) => {
    let value = seen.get(key);
    if (value === undefined) seen.set(key, (value = compute(key)));
    return value;
  };
}

/** `compute` runs once per value id of a batch (-1, an absent value, included), kept in an array: ids are dense. */
function perValue<V>(width: number, compute: (id: number) => V): (id: number) => V {
  const seen: Array<V | undefined> = new Array(width);
  return (id) => {
    let value = seen[id + 1];
    if (value === undefined) seen[id + 1] = value = compute(id);
    return value;
  };
}

/**
 * The day's visitor id of an address and user agent: an HMAC-SHA256 under the salt, cut to 64
 * bits (signed decimal). Bun's own hasher: the same digest as node:crypto's createHmac at half its
 * cost (0.65 against 1.26 µs here), which is most of a new visitor's enrichment.
 */
export function visitorId(salt: string, ip: string, agent: string): string {
  const hmac = new Bun.CryptoHasher("sha256", salt);
  hmac.update(ip);
  hmac.update("\u0000");
  hmac.update(agent);
  return (hmac.digest() as Buffer).readBigInt64BE(0).toString();
}
