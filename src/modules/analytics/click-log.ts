/** Facts as they leave the log: every distinct string once, and per click its strings' indexes. */
export interface PackedFacts {
  count: number;
  /** Distinct values of the interval (codes, owners, addresses, header values). */
  values: string[];
  /** FIELDS ids per click, in FIELDS order; -1 for none. Shared with the worker thread, not copied. */
  ids: Int32Array;
  /** Per click: HEAD (bit 0, counted as a bot) and QR_SCAN (bit 1, the short URL's QR code). */
  flags: Uint8Array;
}

/** A drain: the facts for the worker, and the clicks per code, which the log counts for the click counter. */
export interface DrainedClicks extends PackedFacts {
  perCode: Map<string, number>;
}

export const HEAD = 1;
export const QR_SCAN = 2;

/** Per click, in order: code, owner, peer, X-Forwarded-For, User-Agent, Referer, Accept-Language. */
export const FIELDS = 7;

/** The fields whose last values are remembered (peer, X-Forwarded-For and the three headers), and the slots each has (a power of two). */
const RECENT_FIELDS = 5;
const RECENT_SLOTS = 128;

/**
 * The raw facts of each redirect sent, as the request brought them, for the worker pool to
 * enrich: no parsing, no clock read, no I/O here, and nothing allocated beyond the header strings
 * the request hands over. Its drain also counts the clicks per code, for the click counter, in
 * place of a map increment per redirect. Bounded: past `capacity` facts per flush the details are
 * dropped (`append` says so, and the click is counted by the click counter itself) and the drop
 * is counted.
 *
 * @example
 *   log.append(code, owner, peer, request.headers, request.method === "HEAD" ? HEAD : 0);
 *   const packed = log.drain();   // every fact since the last drain, in arrival order
 *
 * Each value leaves once per interval (an index into `values`): a flush's clicks repeat the
 * same codes, user agents, referrers and languages. Header values are numbered as they come, so
 * the log holds few of a request's strings: holding every click's own header strings until the
 * flush, and copying them to the worker one by one, cost the event loop more than reading them.
 * A link's code and owner are numbered at the drain instead: for a cached link they are the
 * strings the hot-link cache keeps, which cost nothing to hold, and numbering them in one loop at
 * the drain cost 0.06–0.10 µs a click against 0.3–0.4 µs saved in `append` (measured in a
 * Bun.serve harness under wrk). Only the live stream's sample needs owners: numbering codes alone
 * halved the drain (0.031–0.039 to 0.016–0.017 µs a click, 40,000-click flushes in-process).
 *
 * The ids and flags live in shared memory, which the drain hands to the worker as it is (a view,
 * not a copy) and takes back with `release` once the worker has read it; the log writes into the
 * other buffer meanwhile. A fresh buffer per drain (a copy to transfer) was no cheap memcpy: each
 * flush's megabyte of new pages cost the request thread 2.3–3.8 ms (an Int32Array slice of
 * 210,000 ids, in-process; 0.33 ms when it reused freed pages), and 1.7 % of a live server's main-thread samples.
 */
export class ClickLog {
  private index = new Map<string, number>();
  private values: string[] = [];
  private ids: Int32Array;
  private flags: Uint8Array;
  /** Buffers a drain handed out and `release` gave back, written into after the next drain. */
  private spare: { ids: Int32Array; flags: Uint8Array } | null = null;
  /** The drain's clicks per value id, kept from drain to drain (zero between drains). */
  private perId = new Uint32Array(0);
  private size = 0;
  private dropped = 0;
  /**
   * Per click: the link's code, and for the first `ownersKept` clicks its owner, numbered at the
   * drain. Kept from drain to drain and overwritten: started afresh, they grew again every flush,
   * and those two stores were most of `append`'s time in a live server's profile.
   */
  private readonly codes: string[] = [];
  private readonly owners: Array<string | null> = [];
  /**
   * Per field and slot: the value last seen there, and its id (see `recentId`). One array for the
   * log's life, emptied by writing `undefined`. A fresh `new Array(n)` at each drain is an array
   * no store has shaped yet (JSC's "undecided" kind), read before any write after every drain,
   * which likely cost the slot reads their fast path: kept as one array, the recorder cost
   * 0.09 and 0.20 µs a redirect less (two runs, paired half-second slices in a Bun.serve harness under wrk).
   */
  private readonly recent: Array<string | undefined> = new Array<string | undefined>(RECENT_FIELDS * RECENT_SLOTS).fill(undefined);
  private readonly recentIds = new Int32Array(RECENT_FIELDS * RECENT_SLOTS);

  /** `ownersKept`: how many clicks of a flush keep their link's owner (the live stream's sample); by default every one. */
  constructor(
    private readonly capacity: number,
    private readonly ownersKept = capacity,
  ) {
    const clicks = Math.min(capacity, 4096);
    this.ids = sharedInts(clicks * FIELDS);
    this.flags = sharedBytes(clicks);
  }

  /**
   * `client`: `peer` is already the client's address (the rate limiter resolved the proxies): no
   * X-Forwarded-For is kept. False when the log is full: the click is neither logged nor counted here.
   */
  append(code: string, owner: string | null, peer: string, headers: Headers, flags: number, client = false): boolean {
    if (this.size >= this.capacity) {
      this.dropped++;
      return false;
    }
    if (this.size === this.flags.length) this.grow();
    const at = this.size * FIELDS;
    const ids = this.ids;
    // Held until the drain numbers them, in one loop, instead of a map lookup on every request
    // (a cached link's code and owner are its cache entry's strings).
    this.codes[this.size] = code;
    if (this.size < this.ownersKept) this.owners[this.size] = owner;
    ids[at + 2] = this.recentId(0, peer);
    ids[at + 3] = client ? -1 : this.recentId(1, headers.get("x-forwarded-for"));
    ids[at + 4] = this.recentId(2, headers.get("user-agent"));
    ids[at + 5] = this.recentId(3, headers.get("referer"));
    ids[at + 6] = this.recentId(4, headers.get("accept-language"));
    this.flags[this.size++] = flags;
    return true;
  }

  /**
   * A header value is a new string on every request, so a map lookup hashes it first; most
   * requests repeat one of a few values per header, which a compare with the last value of the
   * same slot (its length and three of its characters) finds without hashing.
   */
  private recentId(field: number, value: string | null): number {
    if (value === null) return -1;
    const n = value.length;
    // Length and three characters: values of one length are common (addresses, languages).
    const slot = field * RECENT_SLOTS + (n === 0 ? 0 : (n ^ (value.charCodeAt(n >> 1) * 5) ^ (value.charCodeAt(n >> 2) * 17) ^ (value.charCodeAt(n - 1) * 3)) & (RECENT_SLOTS - 1));
    if (this.recent[slot] === value) return this.recentIds[slot]!;
    const id = this.idOf(value);
    this.recent[slot] = value;
    this.recentIds[slot] = id;
    return id;
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
    const length = Math.min(this.capacity, this.flags.length * 2);
    const ids = sharedInts(length * FIELDS);
    ids.set(this.ids);
    const flags = sharedBytes(length);
    flags.set(this.flags);
    this.ids = ids;
    this.flags = flags;
  }

  /**
   * Every fact since the last drain, and the clicks per code; the log starts again from empty.
   * `owners`: how many of the first clicks keep their link's owner (the live stream's sample,
   * which goes to the owner's topic); the rollups do not keep owners, so the rest are left out (-1).
   * The ids and flags handed out are the log's own buffers: give them back with `release` once
   * read (until then the log writes into others).
   */
  drain(owners = Number.POSITIVE_INFINITY): DrainedClicks {
    const count = this.size;
    if (count === 0) return { count, values: [], ids: new Int32Array(0), flags: new Uint8Array(0), perCode: new Map() };
    const ids = this.ids;
    if (this.perId.length < this.values.length + count) this.perId = new Uint32Array(2 * (this.values.length + count));
    // Clicks per value id, counted in the loop that numbers the codes: a typed-array increment a click.
    const clicks = this.perId;
    const clicked: number[] = [];
    for (let i = 0, at = 0; i < count; i++, at += FIELDS) {
      const id = this.idOf(this.codes[i]!);
      ids[at] = id;
      if (clicks[id] === 0) clicked.push(id);
      clicks[id]!++;
    }
    const perCode = new Map<string, number>();
    for (const id of clicked) {
      perCode.set(this.values[id]!, clicks[id]!);
      clicks[id] = 0;
    }
    const kept = Math.min(count, owners, this.ownersKept);
    for (let i = 0, at = 1; i < count; i++, at += FIELDS) ids[at] = i < kept ? this.idOf(this.owners[i]!) : -1;
    const packed = { count, values: this.values, ids: ids.subarray(0, count * FIELDS), flags: this.flags.subarray(0, count), perCode };
    const next = this.spare !== null && this.spare.flags.length >= this.flags.length ? this.spare : { ids: sharedInts(this.ids.length), flags: sharedBytes(this.flags.length) };
    this.spare = null;
    this.ids = next.ids;
    this.flags = next.flags;
    this.index = new Map();
    this.values = [];
    this.size = 0;
    // Ids are numbered again from the next click on.
    this.recent.fill(undefined);
    return packed;
  }

  /** Gives back a drain's buffers, read by now: the log writes into them after the next drain. */
  release(packed: Pick<PackedFacts, "ids" | "flags">): void {
    const flags = new Uint8Array(packed.flags.buffer);
    if (flags.buffer !== this.flags.buffer && flags.length >= this.flags.length) this.spare = { ids: new Int32Array(packed.ids.buffer), flags };
  }

  /** Clicks logged since the last drain: counted, not yet handed to the click counter. */
  get pending(): number {
    return this.size;
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

const sharedInts = (length: number) => new Int32Array(new SharedArrayBuffer(length * 4));
const sharedBytes = (length: number) => new Uint8Array(new SharedArrayBuffer(length));

/**
 * What the redirect handler calls for each redirect it sends: the request's facts into the log,
 * which counts the click too; a click the full log turns away is counted by `counter` alone.
 * `client` is the address the rate limiter already worked out, when it ran: asking the socket
 * again costs more than a whole cached redirect's share of this.
 */
export function clickRecorder(log: ClickLog, counter: { record(code: string): void }, peerAddress: (request: Request) => string | undefined) {
  return (outcome: { code: string; owner: string | null }, request: Request, client: string | undefined, method: string, url: string): void => {
    const flags = (method === "HEAD" ? HEAD : 0) | (isQrScan(url) ? QR_SCAN : 0);
    const logged = client === undefined ? log.append(outcome.code, outcome.owner, peerAddress(request) ?? "unknown", request.headers, flags) : log.append(outcome.code, outcome.owner, client, request.headers, flags, true);
    if (!logged) counter.record(outcome.code);
  };
}

/** The marker a QR code's short URL carries (`?qr=1`, see qr-codes.ts); a string test, not a URL parse, on the redirect path. */
export function isQrScan(url: string): boolean {
  const q = url.indexOf("?");
  return q >= 0 && /(?:^|&)qr=1(?:&|$)/.test(url.slice(q + 1));
}
