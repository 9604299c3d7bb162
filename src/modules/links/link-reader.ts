import { aliasFallback, isLinkPathShape } from "../../domain/alias";
import { AppError, asServiceError } from "../../errors";
import { ownersOf, type Routing } from "../../domain/topology";
import { cacheLink, getCachedLink, type LinkValue } from "../../storage/link-cache";
import { countVisit, findLink } from "../../storage/link-rows";
import type { ShardSet } from "../../storage/shard-set";
import type { RingRouter } from "../../topology/ring-router";
import type { HotLinks } from "./hot-links";
import type { RedirectRule } from "../../domain/redirect-rules";
import type { LinkObserver, ReadOutcome } from "../../domain/outcomes";

export interface LinkReaderDeps {
  shards: ShardSet;
  router: RingRouter;
  hot: HotLinks;
  observer: LinkObserver;
  cacheTtlSeconds: number;
  /** Monotonic, for latency. */
  now?: () => number;
  /** Wall clock, for expiry. */
  clock?: () => number;
  /** Notes on the request's trace span (why a read fell back), when tracing is on. */
  annotate?: (attributes: Record<string, string>) => void;
  /** Which of a link's redirect rules the request matches (null: none, the link's URL). */
  chooseRule?: (rules: readonly RedirectRule[], request: Request, client: string | undefined) => number | null;
  /** The blocklist entry that blocks a target URL, or null (the blocklist's check). */
  blockedBy?: (href: string) => string | null;
}

export interface ResolvedLink {
  /** Where this request goes: the chosen rule's URL, else the link's. */
  longUrl: string;
  /** Carry the short URL's query string over to longUrl (the link's forward_query). */
  forwardQuery: boolean;
  /** The link's password hash: the redirect asks for the password first. Null: no password. */
  passwordHash: string | null;
  outcome: ReadOutcome;
}

type Source = "redis" | "replica" | "primary";
interface Found {
  link: LinkValue | "deleted";
  code: string;
  shard: number;
  source: Source;
}

/**
 * The redirect path: shape check (no storage for an impossible path) → this instance's hot-link
 * cache → the code's shard: Redis → replica → primary, refilling Redis (SET NX) and the hot
 * cache → while the ring changes, the old owner. A path typed with capitals that finds nothing
 * is tried once more as an alias (aliases are lowercase). An expired link, or one whose visit
 * budget is spent, is 410; a deleted one (a tombstone in Redis) is 404.
 */
export class LinkReader {
  private readonly now: () => number;
  private readonly clock: () => number;

  constructor(private readonly deps: LinkReaderDeps) {
    this.now = deps.now ?? performance.now.bind(performance);
    this.clock = deps.clock ?? Date.now;
  }

  /**
   * The link, synchronously when this instance holds it in memory (no promise on the hottest
   * path), else once storage answers. Throws (404, 410, 503 as AppError) either way.
   */
  resolve(path: string, request?: Request, client?: string): ResolvedLink | Promise<ResolvedLink> {
    const started = this.now();
    if (!isLinkPathShape(path)) {
      this.observe(started, path, null, "none", "NOT_FOUND", null);
      throw notFound(path.slice(0, 32));
    }
    const route = this.deps.router.current;
    const hot = this.deps.hot.get(path);
    if (hot !== undefined) return this.serve(started, route, { link: hot.link, code: hot.code, shard: route.read.shardFor(hot.code), source: "redis" }, "memory", request, client);
    return this.resolveFromStorage(started, route, path, request, client);
  }

  private async resolveFromStorage(started: number, route: Routing, path: string, request: Request | undefined, client: string | undefined): Promise<ResolvedLink> {
    const generation = this.deps.hot.generation;
    let found: Found | null;
    try {
      const alias = aliasFallback(path);
      found = (await this.lookup(route, path)) ?? (alias === null ? null : await this.lookup(route, alias));
    } catch (error) {
      this.observe(started, path, route.read.shardFor(path), "error", "ERROR", null);
      throw asServiceError(error);
    }
    if (found === null || found.link === "deleted") {
      this.observe(started, path, found?.shard ?? route.read.shardFor(path), found ? "redis" : "none", "NOT_FOUND", null);
      throw notFound(path);
    }
    // Only under the path asked for: an alias found through its capitalised spelling is not
    // cached, so an invalidation of the alias never misses a copy under another spelling.
    if (found.code === path) this.deps.hot.set(path, found.link, generation);
    return this.serve(started, route, found, found.source, request, client);
  }

  /** Redis, then the database, on the code's owner and, mid-migration, its old owner. */
  private async lookup(route: Routing, code: string): Promise<Found | null> {
    const owner = route.read.shardFor(code);
    const cached = await getCachedLink(this.deps.shards.at(owner).redis, code).catch(() => null);
    if (cached !== null) return { link: cached, code, shard: owner, source: "redis" };
    this.deps.annotate?.({ "shorten.fallback": "redis-miss" });
    let failure: unknown = null;
    try {
      const fromDb = await this.findInDb(owner, code);
      if (fromDb !== null) return this.refilled(owner, { ...fromDb, code, shard: owner });
    } catch (error) {
      failure = error;
    }
    // Mid-migration the row may not have been copied to its new owner yet: the old owner answers,
    // and the new owner's cache is filled so the next read stays there.
    const oldOwner = route.fallback?.shardFor(code);
    if (oldOwner !== undefined && oldOwner !== owner) {
      this.deps.annotate?.({ "shorten.fallback": "old-owner" });
      const cachedOld = await getCachedLink(this.deps.shards.at(oldOwner).redis, code).catch(() => null);
      if (cachedOld !== null && cachedOld !== "deleted") return this.refilled(owner, { link: cachedOld, code, shard: oldOwner, source: "redis" });
      try {
        const fromOld = await this.findInDb(oldOwner, code);
        if (fromOld !== null) return this.refilled(owner, { ...fromOld, code, shard: oldOwner });
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure !== null) throw failure;
    return null;
  }

  /** A replica miss or failure is not an answer: it may lag or be down, so the primary decides. */
  private async findInDb(shard: number, code: string): Promise<{ link: LinkValue; source: "replica" | "primary" } | null> {
    const { replica, primary } = this.deps.shards.at(shard);
    const fromReplica = await findLink(replica, code).catch(() => null);
    if (fromReplica !== null) return { link: fromReplica, source: "replica" };
    this.deps.annotate?.({ "shorten.fallback": "replica-miss-or-error" });
    const fromPrimary = await findLink(primary, code);
    return fromPrimary === null ? null : { link: fromPrimary, source: "primary" };
  }

  private refilled(owner: number, found: Found & { link: LinkValue }): Found {
    void cacheLink(this.deps.shards.at(owner).redis, found.code, found.link, this.deps.cacheTtlSeconds).catch(() => {});
    return found;
  }

  private serve(started: number, route: Routing, found: Found, source: ReadOutcome["source"], request: Request | undefined, client: string | undefined): ResolvedLink | Promise<ResolvedLink> {
    const link = found.link as LinkValue;
    if (link.disabled !== undefined) throw this.refused(started, found, source, "link-disabled", `was disabled by the service's operators: ${link.disabled}`);
    if (link.expiresAt !== null && this.clock() >= link.expiresAt) throw this.refused(started, found, source, "link-gone", "expired");
    // The rules need the request, so they are chosen here, before the read's event is emitted.
    const rules = link.rules;
    const rule = rules === undefined || request === undefined || this.deps.chooseRule === undefined ? null : this.deps.chooseRule(rules, request, client);
    const target = rule === null ? link.longUrl : rules![rule]!.url;
    const block = this.deps.blockedBy?.(target) ?? null;
    if (block !== null) throw this.refused(started, found, source, "link-blocked", `leads to ${block}, which this service blocks`);
    if (link.maxVisits !== null) return this.serveBudgeted(started, route, found, source, target, rule);
    return this.served(started, found, source, target, rule);
  }

  private async serveBudgeted(started: number, route: Routing, found: Found, source: ReadOutcome["source"], target: string, rule: number | null): Promise<ResolvedLink> {
    if (!(await this.visit(route, found))) throw this.refused(started, found, source, "link-gone", "used up its visits");
    return this.served(started, found, source, target, rule);
  }

  private served(started: number, found: Found, source: ReadOutcome["source"], target: string, rule: number | null): ResolvedLink {
    const link = found.link as LinkValue;
    return { longUrl: target, forwardQuery: link.forwardQuery !== false, passwordHash: link.passwordHash ?? null, outcome: this.observe(started, found.code, found.shard, source, "OK", link.owner, rule) };
  }

  /** Counted on the primary that holds the row (the new owner, or mid-migration the old one). */
  private async visit(route: Routing, found: Found): Promise<boolean> {
    for (const shard of ownersOf(route, found.code)) {
      if (await countVisit(this.deps.shards.at(shard).primary, found.code).catch((e: unknown) => Promise.reject(asServiceError(e)))) return true;
    }
    return false;
  }

  /** A link that exists but is not served (410 gone or disabled, 451 blocked): observed as GONE. */
  private refused(started: number, found: Found, source: ReadOutcome["source"], code: "link-gone" | "link-disabled" | "link-blocked", why: string): AppError {
    this.observe(started, found.code, found.shard, source, "GONE", (found.link as LinkValue).owner);
    return new AppError(code, `short URL ${JSON.stringify(found.code)} ${why}`);
  }

  private observe(started: number, code: string, shard: number | null, source: ReadOutcome["source"], status: ReadOutcome["status"], owner: string | null, rule: number | null = null): ReadOutcome {
    const outcome: ReadOutcome = { code, shard, source, status, owner, rule, cache: source === "redis" || source === "memory" ? "HIT" : "MISS", latencyMs: this.now() - started };
    this.deps.observer.onRead(outcome);
    return outcome;
  }
}

function notFound(code: string): AppError {
  return new AppError("short-url-not-found", `no short URL ${JSON.stringify(code)}`);
}
