import { createHmac } from "node:crypto";
import { LRUCache } from "lru-cache";
import { primaryLanguage, referrerHost, type LinkRollup, type StoredDimension } from "../../domain/click-dimensions";
import { clientIp } from "../../http/client-ip";
import { FIELDS, type PackedFacts } from "./click-log";
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

const STORED: readonly StoredDimension[] = ["country", "referrer", "device", "browser", "os", "language"];

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
  const { values, ids, heads } = packed;
  const width = values.length + 1;
  const valueOf = (id: number) => (id < 0 ? null : values[id]!);
  // Dimension values interned per batch, so a breakdown row is keyed by two small integers.
  const interned: string[] = [];
  const internIndex = new Map<string, number>();
  const intern = (value: string) => {
    let index = internIndex.get(value);
    if (index === undefined) {
      index = interned.length;
      interned.push(value);
      internIndex.set(value, index);
    }
    return index;
  };
  const agentsById = new Map<number, { facts: AgentFacts; device: number; browser: number; os: number }>();
  const agentOf = (id: number) => {
    let agent = agentsById.get(id);
    if (!agent) {
      const facts = options.agents.of(valueOf(id), false);
      agentsById.set(id, (agent = { facts, device: intern(facts.device), browser: intern(facts.browser), os: intern(facts.os) }));
    }
    return agent;
  };
  const memo = options.memo;
  const hostsById = new Map<number, number>();
  const hostOf = (id: number) => {
    let host = hostsById.get(id);
    if (host === undefined) {
      const referrer = valueOf(id);
      const text = memo ? (memo.referrers.get(referrer ?? "") ?? memo.referrers.set(referrer ?? "", referrerHost(referrer)).get(referrer ?? "")!) : referrerHost(referrer);
      hostsById.set(id, (host = intern(text)));
    }
    return host;
  };
  const languagesById = new Map<number, number>();
  const languageOf = (id: number) => {
    let language = languagesById.get(id);
    if (language === undefined) languagesById.set(id, (language = intern(primaryLanguage(valueOf(id)))));
    return language;
  };
  // One entry per distinct (peer, forwarded) pair: the client address, its country and its visitors.
  const clients = new Map<number, { ip: string; country: number; visitors: Map<number, string> }>();
  const clientOf = (peerId: number, forwardedId: number) => {
    const key = (peerId + 1) * width + forwardedId + 1;
    let client = clients.get(key);
    if (!client) {
      const ip = clientIp(valueOf(peerId) ?? "", valueOf(forwardedId), options.trustedProxies);
      const country = memo ? (memo.countries.get(ip) ?? memo.countries.set(ip, options.country(ip) ?? "unknown").get(ip)!) : (options.country(ip) ?? "unknown");
      clients.set(key, (client = { ip, country: intern(country), visitors: new Map() }));
    }
    return client;
  };

  const byCode = new Map<number, { code: string; humans: number; bots: number; dims: Map<number, [StoredDimension, string, number, number]>; visitors: Set<string> }>();
  const sample: EnrichedClick[] = [];
  const clickValues = [0, 0, 0, 0, 0, 0];
  for (let i = 0; i < packed.count; i++) {
    const at = i * FIELDS;
    const codeId = ids[at]!;
    const agentId = ids[at + 4]!;
    const agent = agentOf(agentId);
    const client = clientOf(ids[at + 2]!, ids[at + 3]!);
    const bot = agent.facts.bot || heads[i] === 1;
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
    for (let d = 0; d < STORED.length; d++) {
      const key = clickValues[d]! * STORED.length + d;
      const row = entry.dims.get(key);
      if (row) {
        row[2]++;
        row[3] += human;
      } else entry.dims.set(key, [STORED[d]!, interned[clickValues[d]!]!, 1, human]);
    }
    if (human && options.salt !== null) {
      let visitor = client.visitors.get(agentId);
      if (visitor === undefined) client.visitors.set(agentId, (visitor = visitorOf(options.salt, client.ip, valueOf(agentId) ?? "", memo)));
      entry.visitors.add(visitor);
    }
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
  readonly countries: LRUCache<string, string>;
  readonly referrers: LRUCache<string, string>;
  private readonly visitors: LRUCache<string, string>;
  private salt = "";

  constructor(maxEntries: number) {
    this.countries = new LRUCache({ max: maxEntries });
    this.referrers = new LRUCache({ max: maxEntries });
    this.visitors = new LRUCache({ max: maxEntries });
  }

  visitor(salt: string, key: string, make: () => string): string {
    if (salt !== this.salt) {
      this.visitors.clear();
      this.salt = salt;
    }
    const known = this.visitors.get(key);
    if (known !== undefined) return known;
    const id = make();
    this.visitors.set(key, id);
    return id;
  }
}

function visitorOf(salt: string, ip: string, agent: string, memo: RollupMemo | undefined): string {
  return memo ? memo.visitor(salt, `${ip}\u0000${agent}`, () => visitorId(salt, ip, agent)) : visitorId(salt, ip, agent);
}

/** The day's visitor id of an address and user agent: an HMAC under the salt, cut to 64 bits (signed decimal). */
export function visitorId(salt: string, ip: string, agent: string): string {
  const digest = createHmac("sha256", salt).update(ip).update("\u0000").update(agent).digest();
  return digest.readBigInt64BE(0).toString();
}
