/**
 * The raw facts of each counted redirect, as the request brought them, for the worker pool to
 * enrich: no parsing, no clock read, no I/O here, and nothing allocated beyond the header strings
 * the request hands over. Bounded: past `capacity` facts per flush the details are dropped (the
 * click itself is counted by ClickCounter regardless) and the drop is counted.
 *
 * @example
 *   log.append(code, owner, peer, request.headers, request.method === "HEAD");
 *   const facts = log.drain();   // every fact since the last drain, in arrival order
 */
export interface ClickFacts {
  codes: string[];
  /** The key that owns the link: its enriched clicks go to that owner's stream. */
  owners: (string | null)[];
  /** The TCP peer; the worker applies the trusted-proxy rule to it and `forwarded`. */
  peers: string[];
  forwarded: (string | null)[];
  agents: (string | null)[];
  referrers: (string | null)[];
  languages: (string | null)[];
  /** HEAD requests: a fetcher checking the link, never a person following it. */
  heads: boolean[];
}

export class ClickLog {
  private facts = ClickLog.empty();
  private size = 0;
  private dropped = 0;

  constructor(private readonly capacity: number) {}

  private static empty(): ClickFacts {
    return { codes: [], owners: [], peers: [], forwarded: [], agents: [], referrers: [], languages: [], heads: [] };
  }

  append(code: string, owner: string | null, peer: string, headers: Headers, head: boolean): void {
    if (this.size >= this.capacity) {
      this.dropped++;
      return;
    }
    const f = this.facts;
    const i = this.size++;
    f.codes[i] = code;
    f.owners[i] = owner;
    f.peers[i] = peer;
    f.forwarded[i] = headers.get("x-forwarded-for");
    f.agents[i] = headers.get("user-agent");
    f.referrers[i] = headers.get("referer");
    f.languages[i] = headers.get("accept-language");
    f.heads[i] = head;
  }

  /** Every fact since the last drain; the log starts again from empty. */
  drain(): ClickFacts {
    const facts = this.facts;
    for (const list of Object.values(facts) as unknown[][]) list.length = this.size;
    this.facts = ClickLog.empty();
    this.size = 0;
    return facts;
  }

  /** Clicks whose details were dropped because the log was full (their count was kept). */
  get unenriched(): number {
    return this.dropped;
  }

  /** Adds clicks whose details were lost after they left the log (a failed enrichment). */
  lost(n: number): void {
    this.dropped += n;
  }
}

/** What the redirect handler calls for each link it serves: the request's facts into the log. */
export function clickRecorder(log: ClickLog, peerAddress: (request: Request) => string | undefined) {
  return (outcome: { code: string; owner: string | null }, request: Request): void => log.append(outcome.code, outcome.owner, peerAddress(request) ?? "unknown", request.headers, request.method === "HEAD");
}

// Header values cannot hold NUL or SOH (Bun refuses such requests), codes and addresses neither.
const FIELD = "\u0000";
const RECORD = "\u0001";

/**
 * Facts as one string, for the trip to the worker: copying one string costs a memcpy where
 * structured-cloning eight arrays costs one step per string (measured: the clone was most of what
 * analytics cost the event loop). Empty and null read back the same (both mean "not sent").
 */
export function encodeFacts(facts: ClickFacts): string {
  const n = facts.codes.length;
  const parts = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    parts[i] = [facts.codes[i], facts.owners[i] ?? "", facts.peers[i], facts.forwarded[i] ?? "", facts.agents[i] ?? "", facts.referrers[i] ?? "", facts.languages[i] ?? "", facts.heads[i] ? "1" : ""].join(FIELD);
  }
  return parts.join(RECORD);
}

export function decodeFacts(text: string): ClickFacts {
  const facts: ClickFacts = { codes: [], owners: [], peers: [], forwarded: [], agents: [], referrers: [], languages: [], heads: [] };
  if (text === "") return facts;
  const orNull = (v: string | undefined) => (v === undefined || v === "" ? null : v);
  for (const record of text.split(RECORD)) {
    const f = record.split(FIELD);
    facts.codes.push(f[0]!);
    facts.owners.push(orNull(f[1]));
    facts.peers.push(f[2] ?? "");
    facts.forwarded.push(orNull(f[3]));
    facts.agents.push(orNull(f[4]));
    facts.referrers.push(orNull(f[5]));
    facts.languages.push(orNull(f[6]));
    facts.heads.push(f[7] === "1");
  }
  return facts;
}
