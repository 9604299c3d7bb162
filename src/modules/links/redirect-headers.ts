import type { ReadOutcome } from "../../domain/outcomes";

interface Built {
  cache: ReadOutcome["cache"];
  source: ReadOutcome["source"];
  shard: number | null;
  headers: Headers;
}

/**
 * The headers of a redirect (location, x-cache, x-source, x-shard, x-instance), built once per
 * target and reused: a Response copies a Headers object it is given, but converts a plain object
 * field by field. Measured: 0.64 µs a Response from an object of these five headers, 0.24 from a
 * Headers object (the Response alone is a sixth of a cached redirect's main thread).
 *
 * Held in a plain map that is emptied when full rather than an LRU: a lookup must cost less than
 * the conversion it saves, and a full map refills with whatever is hot within a few requests.
 *
 * @example
 *   const headers = new RedirectHeaders({ instanceId: 3, permanent: false, maxTargets: 10_000 });
 *   new Response(null, { status: 302, headers: headers.of("https://example.com/", outcome) });
 */
export class RedirectHeaders {
  private built = new Map<string, Built>();
  private readonly instance: string;

  constructor(private readonly options: { instanceId: number; permanent: boolean; maxTargets: number }) {
    this.instance = String(options.instanceId);
  }

  of(location: string, outcome: Pick<ReadOutcome, "cache" | "source" | "shard">): Headers {
    const known = this.built.get(location);
    if (known !== undefined && known.cache === outcome.cache && known.source === outcome.source && known.shard === outcome.shard) return known.headers;
    const headers = this.build(location, outcome);
    if (this.built.size >= this.options.maxTargets) this.built.clear();
    this.built.set(location, { cache: outcome.cache, source: outcome.source, shard: outcome.shard, headers });
    return headers;
  }

  /** Targets whose headers are held now. */
  get size(): number {
    return this.built.size;
  }

  /** The headers of a target not to be kept (one request's own). */
  build(location: string, outcome: Pick<ReadOutcome, "cache" | "source" | "shard">): Headers {
    const headers = new Headers({ location, "x-cache": outcome.cache, "x-source": outcome.source, "x-shard": String(outcome.shard), "x-instance": this.instance });
    // A 301/308 is cached by browsers unless told otherwise, and a cached redirect is a click we
    // never see and an edit that never arrives; a 302/307 is not cached without a freshness header.
    if (this.options.permanent) headers.set("cache-control", "private, max-age=0");
    return headers;
  }
}
