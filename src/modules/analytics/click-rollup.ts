import { createHmac } from "node:crypto";
import { LRUCache } from "lru-cache";
import { primaryLanguage, referrerHost, type LinkRollup, type StoredDimension } from "../../domain/click-dimensions";
import { clientIp } from "../../http/client-ip";
import type { ClickFacts } from "./click-log";
import type { AgentFacts, UserAgents } from "./user-agent";

/**
 * A batch of raw click facts enriched and summed per link: humans and bots, clicks and humans
 * per dimension value, and the visitor ids of the humans (for the unique count). Runs in the
 * analytics worker; pure apart from the lookups it is given.
 *
 * A visitor id is an HMAC of client address and user agent under the day's salt, cut to 64 bits:
 * the same person on the same day is the same id on every instance, and once the salt is gone
 * (it is never kept past its day) no id can be tied back to an address.
 */
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

export function rollUp(facts: ClickFacts, options: RollupOptions): { links: LinkRollup[]; sample: EnrichedClick[] } {
  const byCode = new Map<string, { rollup: LinkRollup; dims: Map<string, [StoredDimension, string, number, number]>; visitors: Set<string> }>();
  const sample: EnrichedClick[] = [];
  for (let i = 0; i < facts.codes.length; i++) {
    const code = facts.codes[i]!;
    const agent = options.agents.of(facts.agents[i]!, facts.heads[i]!);
    const ip = clientIp(facts.peers[i], facts.forwarded[i]!, options.trustedProxies);
    const memo = options.memo;
    const country = memo ? memo.countries.get(ip) ?? memo.countries.set(ip, options.country(ip) ?? "unknown").get(ip)! : (options.country(ip) ?? "unknown");
    const referrer = facts.referrers[i] ?? "";
    const host = memo ? memo.referrers.get(referrer) ?? memo.referrers.set(referrer, referrerHost(facts.referrers[i]!)).get(referrer)! : referrerHost(facts.referrers[i]!);
    const click: EnrichedClick = { code, owner: facts.owners[i]!, country, referrer: host, device: agent.device, browser: agent.browser, os: agent.os, bot: agent.bot };
    let entry = byCode.get(code);
    if (!entry) byCode.set(code, (entry = { rollup: { code, humans: 0, bots: 0, dims: [], visitors: [] }, dims: new Map(), visitors: new Set() }));
    const human = agent.bot ? 0 : 1;
    if (human) entry.rollup.humans++;
    else entry.rollup.bots++;
    const values: Array<[StoredDimension, string]> = [
      ["country", click.country],
      ["referrer", click.referrer],
      ["device", click.device],
      ["browser", click.browser],
      ["os", click.os],
      ["language", primaryLanguage(facts.languages[i]!)],
    ];
    for (const [dimension, value] of values) {
      const key = `${dimension}\u0000${value}`;
      const row = entry.dims.get(key);
      if (row) {
        row[2]++;
        row[3] += human;
      } else entry.dims.set(key, [dimension, value, 1, human]);
    }
    if (human && options.salt !== null) entry.visitors.add(visitorOf(options.salt, ip, facts.agents[i] ?? "", options.memo));
    if (sample.length < options.sample) sample.push(click);
  }
  const links = [...byCode.values()].map(({ rollup, dims, visitors }) => ({ ...rollup, dims: [...dims.values()], visitors: [...visitors] }));
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

function visitorId(salt: string, ip: string, agent: string): string {
  const digest = createHmac("sha256", salt).update(ip).update("\u0000").update(agent).digest();
  return digest.readBigInt64BE(0).toString();
}
