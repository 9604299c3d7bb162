import { createHmac } from "node:crypto";
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
  /** Seen values kept between batches (referrer hosts, countries, visitor ids), when given. */
  memo?: RollupMemo;
  trustedProxies: readonly string[];
  /** The day's salt; null when unique visitors are off. */
  salt: string | null;
  /** How many enriched clicks to hand back for the stream (0 when nobody listens). */
  sample: number;
}

const STORED: readonly StoredDimension[] = ["country", "referrer", "device", "browser", "os", "language", "source"];

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
 * host, language, visitor id) runs once per distinct value of the batch and each click costs a
 * few array reads and numeric map updates. Measured: building the click's own strings and keys
 * made the worker the largest CPU cost of analytics on a 2-core machine.
 */
export function rollUp(packed: PackedFacts, options: RollupOptions): { links: LinkRollup[]; sample: EnrichedClick[] } {
  const { values, ids, flags } = packed;
  const width = values.length + 1;
  const valueOf = (id: number) => (id < 0 ? null : values[id]!);
  const memo = options.memo;
  // Dimension values interned per batch, so a breakdown row is keyed by two small integers.
  const interned: string[] = [];
  const intern = oncePerKey((value: string) => interned.push(value) - 1);
  const agentOf = oncePerKey((id: number) => {
    const facts = options.agents.of(valueOf(id), false);
    return { facts, device: intern(facts.device), browser: intern(facts.browser), os: intern(facts.os) };
  });
  const hostOf = oncePerKey((id: number) => {
    const referrer = valueOf(id);
    return intern(memo ? memo.referrerHost(referrer ?? "", () => referrerHost(referrer)) : referrerHost(referrer));
  });
  const languageOf = oncePerKey((id: number) => intern(primaryLanguage(valueOf(id))));
  // One entry per distinct (peer, forwarded) pair, keyed (peer + 1) * width + forwarded + 1:
  // the client address, its country, and its visitors by user agent.
  const clientOf = oncePerKey((pair: number) => {
    const ip = clientIp(valueOf(Math.floor(pair / width) - 1) ?? "", valueOf((pair % width) - 1), options.trustedProxies);
    const lookup = () => options.country(ip) ?? "unknown";
    const salt = options.salt;
    return { ip, country: intern(memo ? memo.country(ip, lookup) : lookup()), visitorOf: salt === null ? null : oncePerKey((agentId: number) => visitorOf(salt, ip, valueOf(agentId) ?? "", memo)) };
  });

  const byCode = new Map<number, { code: string; humans: number; bots: number; dims: Map<number, [StoredDimension, string, number, number]>; visitors: Set<string> }>();
  const sample: EnrichedClick[] = [];
  const clickValues = [0, 0, 0, 0, 0, 0, 0];
  const sources = [intern("link"), intern("qr")];
  for (let i = 0; i < packed.count; i++) {
    const at = i * FIELDS;
    const codeId = ids[at]!;
    const agentId = ids[at + 4]!;
    const agent = agentOf(agentId);
    const client = clientOf((ids[at + 2]! + 1) * width + ids[at + 3]! + 1);
    const bot = agent.facts.bot || (flags[i]! & HEAD) !== 0;
    let entry = byCode.get(codeId);
    if (!entry) byCode.set(codeId, (entry = { code: valueOf(codeId) ?? "", humans: 0, bots: 0, dims: new Map(), visitors: new Set() }));
    const human = bot ? 0 : 1;
    if (human) entry.humans++;
    else entry.bots++;
    clickValues[0] = client.country;
    clickValues[1] = hostOf(ids[at + 5]!);
    clickValues[2] = agent.device;
    clickValues[3] = agent.browser;
    clickValues[4] = agent.os;
    clickValues[5] = languageOf(ids[at + 6]!);
    clickValues[6] = sources[(flags[i]! & QR_SCAN) === 0 ? 0 : 1]!;
    for (let d = 0; d < STORED.length; d++) {
      const key = clickValues[d]! * STORED.length + d;
      const row = entry.dims.get(key);
      if (row) {
        row[2]++;
        row[3] += human;
      } else entry.dims.set(key, [STORED[d]!, interned[clickValues[d]!]!, 1, human]);
    }
    if (human && client.visitorOf) entry.visitors.add(client.visitorOf(agentId));
    if (sample.length < options.sample) {
      sample.push({ code: entry.code, owner: valueOf(ids[at + 1]!), country: interned[client.country]!, referrer: interned[clickValues[1]]!, device: agent.facts.device, browser: agent.facts.browser, os: agent.facts.os, bot });
    }
  }
  const links = [...byCode.values()].map(({ code, humans, bots, dims, visitors }) => ({ code, humans, bots, dims: [...dims.values()], visitors: [...visitors] }));
  return { links, sample };
}

/**
 * Recently seen lookups, kept by the worker between batches: the same referrers, addresses and
 * visitors come back flush after flush (a visitor id is remembered under its salt only).
 */
export class RollupMemo {
  private readonly countries: LRUCache<string, string>;
  private readonly referrers: LRUCache<string, string>;
  private readonly visitors: LRUCache<string, string>;
  private salt = "";

  constructor(maxEntries: number) {
    this.countries = new LRUCache({ max: maxEntries });
    this.referrers = new LRUCache({ max: maxEntries });
    this.visitors = new LRUCache({ max: maxEntries });
  }

  country(ip: string, lookup: () => string): string {
    return remembered(this.countries, ip, lookup);
  }

  referrerHost(referrer: string, parse: () => string): string {
    return remembered(this.referrers, referrer, parse);
  }

  visitor(salt: string, key: string, make: () => string): string {
    if (salt !== this.salt) {
      this.visitors.clear();
      this.salt = salt;
    }
    return remembered(this.visitors, key, make);
  }
}

function remembered(cache: LRUCache<string, string>, key: string, compute: () => string): string {
  const known = cache.get(key);
  if (known !== undefined) return known;
  const value = compute();
  cache.set(key, value);
  return value;
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

function visitorOf(salt: string, ip: string, agent: string, memo: RollupMemo | undefined): string {
  return memo ? memo.visitor(salt, `${ip}\u0000${agent}`, () => visitorId(salt, ip, agent)) : visitorId(salt, ip, agent);
}

/** The day's visitor id of an address and user agent: an HMAC under the salt, cut to 64 bits (signed decimal). */
export function visitorId(salt: string, ip: string, agent: string): string {
  const digest = createHmac("sha256", salt).update(ip).update("\u0000").update(agent).digest();
  return digest.readBigInt64BE(0).toString();
}
