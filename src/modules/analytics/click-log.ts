/** Facts as they leave the log: every distinct string once, and per click its strings' indexes. */
export interface PackedFacts {
  count: number;
  /** Distinct values of the interval (codes, owners, addresses, header values). */
  values: string[];
  /** FIELDS ids per click, in FIELDS order; -1 for none. Transferred to the worker, not copied. */
  ids: Int32Array;
  heads: Uint8Array;
}

/** Per click, in order: code, owner, peer, X-Forwarded-For, User-Agent, Referer, Accept-Language. */
export const FIELDS = 7;

/**
 * The raw facts of each counted redirect, as the request brought them, for the worker pool to
 * enrich: no parsing, no clock read, no I/O here, and nothing allocated beyond the header strings
 * the request hands over. Bounded: past `capacity` facts per flush the details are dropped (the
 * click itself is counted by ClickCounter regardless) and the drop is counted.
 *
 * @example
 *   log.append(code, owner, peer, request.headers, request.method === "HEAD");
 *   const packed = log.drain();   // every fact since the last drain, in arrival order
 *
 * Each value is stored once per interval (an index into `values`): a flush's clicks repeat the
 * same codes, user agents, referrers and languages, so the log holds few strings. Measured:
 * holding every click's own header strings until the flush, and copying them to the worker one
 * by one, cost the event loop more than reading them; ids also cross to the worker as one buffer.
 */
export class ClickLog {
  private index = new Map<string, number>();
  private values: string[] = [];
  private ids: Int32Array;
  private heads: Uint8Array;
  private size = 0;
  private dropped = 0;

  constructor(private readonly capacity: number) {
    this.ids = new Int32Array(Math.min(capacity, 4096) * FIELDS);
    this.heads = new Uint8Array(Math.min(capacity, 4096));
  }

  /** `client`: `peer` is already the client's address (the rate limiter resolved the proxies): no X-Forwarded-For is kept. */
  append(code: string, owner: string | null, peer: string, headers: Headers, head: boolean, client = false): void {
    if (this.size >= this.capacity) {
      this.dropped++;
      return;
    }
    if (this.size === this.heads.length) this.grow();
    const at = this.size * FIELDS;
    const ids = this.ids;
    ids[at] = this.idOf(code);
    ids[at + 1] = this.idOf(owner);
    ids[at + 2] = this.idOf(peer);
    ids[at + 3] = client ? -1 : this.idOf(headers.get("x-forwarded-for"));
    ids[at + 4] = this.idOf(headers.get("user-agent"));
    ids[at + 5] = this.idOf(headers.get("referer"));
    ids[at + 6] = this.idOf(headers.get("accept-language"));
    this.heads[this.size++] = head ? 1 : 0;
  }

  private idOf(value: string | null): number {
    if (value === null) return -1;
    let id = this.index.get(value);
    if (id === undefined) {
      id = this.values.length;
      this.values.push(value);
      this.index.set(value, id);
    }
    return id;
  }

  private grow(): void {
    const length = Math.min(this.capacity, this.heads.length * 2);
    const ids = new Int32Array(length * FIELDS);
    ids.set(this.ids);
    const heads = new Uint8Array(length);
    heads.set(this.heads);
    this.ids = ids;
    this.heads = heads;
  }

  /** Every fact since the last drain; the log starts again from empty. */
  drain(): PackedFacts {
    const packed = { count: this.size, values: this.values, ids: this.ids.slice(0, this.size * FIELDS), heads: this.heads.slice(0, this.size) };
    this.index = new Map();
    this.values = [];
    this.size = 0;
    return packed;
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

/**
 * What the redirect handler calls for each link it serves: the request's facts into the log.
 * `client` is the address the rate limiter already worked out, when it ran: asking the socket
 * again costs more than a whole cached redirect's share of this.
 */
export function clickRecorder(log: ClickLog, peerAddress: (request: Request) => string | undefined) {
  return (outcome: { code: string; owner: string | null }, request: Request, client?: string): void =>
    client === undefined ? log.append(outcome.code, outcome.owner, peerAddress(request) ?? "unknown", request.headers, request.method === "HEAD") : log.append(outcome.code, outcome.owner, client, request.headers, request.method === "HEAD", true);
}
