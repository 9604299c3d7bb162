import { ownersOf, shardsToScan } from "../../domain/topology";
import { aliasFallback, isLinkPathShape } from "../../domain/alias";
import { AppError, asServiceError } from "../../errors";
import type { Logger } from "../../observability/logger";
import { forgetCodeForUrl, linkValue, writeLink, type LinkValue } from "../../storage/link-cache";
import { findLink, releaseUrl } from "../../storage/link-rows";
import { deleteOwnedLink, findOwnedLink, listOwnedLinks, ownedTagCounts, setLinkDisabled, updateOwnedLink, type LinkFilter, type LinkPatch, type StoredLink } from "../../storage/owned-link-rows";
import type { ShardSet } from "../../storage/shard-set";
import type { RingRouter } from "../../topology/ring-router";
import { dedupeKey } from "./dedupe-key";
import type { LinkService } from "./link-service";
import type { LinkObserver } from "../../domain/outcomes";

/** What an owner may change: the stored patch, with the URL as the owner typed it (checked here). */
export type LinkEdit = Omit<LinkPatch, "longUrl"> & { url?: string };

/**
 * A key's own links: details, a newest-first list across shards, edit and delete. Another key's
 * link is indistinguishable from a missing one (404, no enumeration).
 *
 * An edit or a delete takes effect everywhere before it is acknowledged: the row changes on the
 * primary, the link's Redis entry is overwritten (the new value, or a tombstone), and the code is
 * published on the invalidation bus, which every instance's hot-link cache obeys. A read that
 * raced the change cannot put the old value back: Redis refills are SET NX, and the hot cache
 * skips values read across an invalidation.
 */
export class LinkManager {
  constructor(
    private readonly deps: {
      shards: ShardSet;
      router: RingRouter;
      links: LinkService;
      /** Tells every instance's hot-link cache to drop these codes (the events' invalidation bus). */
      invalidation: { publish(codes: readonly string[]): Promise<void> };
      observer: LinkObserver;
      /** A link's clicks so far (the clicks module's stats); a failure shows as 0. */
      clicksOf: (code: string) => Promise<number>;
      cacheTtlSeconds: number;
      logger: Logger;
      now?: () => number;
    },
  ) {}

  async get(owner: string, path: string): Promise<StoredLink & { clicks: number }> {
    const link = await this.owned(owner, path);
    const clicks = await this.deps.clicksOf(link.code).catch(() => 0);
    return { ...link, clicks };
  }

  /**
   * Newest first across every shard, `limit` at a time. The cursor is the last link's exact sort
   * key (created_at in microseconds, code), so the next page starts right after it: every link
   * once, however many share a microsecond or a shard.
   */
  async list(owner: string, limit: number, cursor: string | null, filter: LinkFilter = {}): Promise<{ links: StoredLink[]; next: string | null }> {
    const page = await this.page(owner, cursor === null ? null : decodeCursor(cursor), limit, filter);
    return { links: page.links, next: page.next === null ? null : encodeCursor(page.next) };
  }

  /** Every one of the key's links in list order, a page at a time: constant memory, and exactly the set `list` pages through. */
  async *all(owner: string, pageSize = 500): AsyncGenerator<StoredLink> {
    let before: LinkPosition | null = null;
    do {
      const page: { links: StoredLink[]; next: LinkPosition | null } = await this.page(owner, before, pageSize);
      yield* page.links;
      before = page.next;
    } while (before !== null);
  }

  /**
   * Each shard that may hold the key's links gives its newest `limit + 1` before `before`; the
   * merge of those holds the overall newest `limit + 1`. Mid re-sharding a link may sit on its
   * old and its new owner at once, with the same key: it is listed once.
   */
  private async page(owner: string, before: LinkPosition | null, limit: number, filter: LinkFilter = {}): Promise<{ links: StoredLink[]; next: LinkPosition | null }> {
    const route = this.deps.router.current;
    const shards = shardsToScan(route);
    try {
      const pages = await Promise.all(shards.map((s) => listOwnedLinks(this.deps.shards.at(s).primary, owner, before, limit + 1, filter)));
      const merged = [...new Map(pages.flat().map((l) => [l.code, l])).values()].sort(newestFirst);
      const links = merged.slice(0, limit);
      const last = links.at(-1);
      return { links, next: merged.length > limit && last ? { createdKey: last.createdKey, code: last.code } : null };
    } catch (error) {
      throw asServiceError(error);
    }
  }

  /**
   * The key's tags with how many of its links carry each, most used first. Mid re-sharding a
   * link may sit on two shards: the counts are of distinct links, each shard's rows counted once
   * per code (exact, by reading codes, only while a migration is under way).
   */
  async tags(owner: string): Promise<Array<{ tag: string; links: number }>> {
    const shards = shardsToScan(this.deps.router.current);
    try {
      const counts = new Map<string, number>();
      if (this.deps.router.current.fallback !== null) {
        const seen = new Map<string, Set<string>>();
        for await (const link of this.all(owner)) for (const tag of link.tags) (seen.get(tag) ?? seen.set(tag, new Set()).get(tag)!).add(link.code);
        for (const [tag, codes] of seen) counts.set(tag, codes.size);
      } else {
        const perShard = await Promise.all(shards.map((s) => ownedTagCounts(this.deps.shards.at(s).primary, owner)));
        for (const { tag, links } of perShard.flat()) counts.set(tag, (counts.get(tag) ?? 0) + links);
      }
      return [...counts].map(([tag, links]) => ({ tag, links })).sort((a, b) => b.links - a.links || (a.tag < b.tag ? -1 : 1));
    } catch (error) {
      throw asServiceError(error);
    }
  }

  async update(owner: string, path: string, edit: LinkEdit): Promise<StoredLink> {
    const started = (this.deps.now ?? performance.now)();
    const longUrl = edit.url === undefined ? undefined : this.deps.links.checkedUrl(edit.url);
    const rules = edit.rules == null ? edit.rules : this.deps.links.checkedRules(edit.rules);
    const { shard, link } = await this.locate(owner, path);
    const changed = await updateOwnedLink(this.deps.shards.at(shard).primary, link.code, owner, { ...withoutUrl(edit), longUrl, rules }).catch((e: unknown) => Promise.reject(asServiceError(e)));
    if (changed === null) throw notFound(path);
    // The old URL no longer dedupes to this code (a later create of it gets a new link).
    if (longUrl !== undefined && longUrl !== changed.before.longUrl) await this.release(owner, changed.before);
    await this.propagate(changed.after.code, valueOf(changed.after), shard);
    this.deps.observer.onChange({ code: changed.after.code, shard, kind: "update", owner, latencyMs: (this.deps.now ?? performance.now)() - started });
    return changed.after;
  }

  /**
   * An admin disables a link (abuse) with a reason, or enables it again (null), whoever owns it:
   * every instance answers 410 at once (Redis rewritten, hot caches invalidated), and the owner
   * sees the reason in the link's details.
   */
  async setDisabled(path: string, reason: string | null): Promise<StoredLink> {
    const started = (this.deps.now ?? performance.now)();
    const missing = (p: string) => new AppError("short-url-not-found", `no short URL ${JSON.stringify(p)}`);
    const { shard, link } = await this.onOwners(path, (shard, code) => setLinkDisabled(this.deps.shards.at(shard).primary, code, reason), missing);
    await this.propagate(link.code, valueOf(link), shard);
    this.deps.observer.onChange({ code: link.code, shard, kind: "update", owner: link.owner, latencyMs: (this.deps.now ?? performance.now)() - started });
    return link;
  }

  /** The key's link, without its clicks (a QR code, an import's check of a code it holds). */
  async owned(owner: string, path: string): Promise<StoredLink> {
    return (await this.locate(owner, path)).link;
  }

  async remove(owner: string, path: string): Promise<void> {
    const started = (this.deps.now ?? performance.now)();
    const { shard, link } = await this.locate(owner, path);
    const deleted = await deleteOwnedLink(this.deps.shards.at(shard).primary, link.code, owner).catch((e: unknown) => Promise.reject(asServiceError(e)));
    if (deleted === null) throw notFound(path);
    await this.release(owner, deleted);
    await this.propagate(deleted.code, "deleted", shard);
    this.deps.observer.onChange({ code: deleted.code, shard, kind: "delete", owner, latencyMs: (this.deps.now ?? performance.now)() - started });
  }

  /** The shard holding the key's link: its owner, mid-migration the old owner; an alias in any case. */
  private locate(owner: string, path: string): Promise<{ shard: number; link: StoredLink }> {
    return this.onOwners(path, (shard, code) => findOwnedLink(this.deps.shards.at(shard).primary, code, owner), notFound);
  }

  /**
   * The first answer of `attempt` on the shards that may hold the path's link (its owner, and
   * mid-migration its old owner), under the path and, typed with capitals, as an alias.
   */
  private async onOwners(path: string, attempt: (shard: number, code: string) => Promise<StoredLink | null>, missing: (path: string) => AppError): Promise<{ shard: number; link: StoredLink }> {
    if (!isLinkPathShape(path)) throw missing(path.slice(0, 32));
    const route = this.deps.router.current;
    const codes = [path, aliasFallback(path)].filter((c): c is string => c !== null);
    try {
      for (const code of codes) {
        for (const shard of ownersOf(route, code)) {
          const link = await attempt(shard, code);
          if (link) return { shard, link };
        }
      }
    } catch (error) {
      throw asServiceError(error);
    }
    throw missing(path);
  }

  private async release(owner: string, link: StoredLink): Promise<void> {
    if (link.alias) return;
    const shard = this.deps.shards.at(this.deps.router.current.write.shardFor(link.longUrl));
    const key = dedupeKey(owner, link.longUrl);
    await Promise.all([releaseUrl(shard.primary, key, link.code), forgetCodeForUrl(shard.redis, key.toString("hex"))]).catch((error: unknown) =>
      this.deps.logger.warn("dedupe entry not released; a create of the old URL may return the changed link", { code: link.code, error: (error as Error).message }),
    );
  }

  /**
   * Redis on the link's owner (and old owner mid-migration) overwritten, then every instance's hot
   * cache told. Two changes racing (an edit and a delete) could write Redis in the opposite order
   * of their commits, so after writing, the row is read back from the primary and, if it moved
   * on, its current state is written: the last change to finish leaves what the database holds.
   */
  private async propagate(code: string, value: LinkValue | "deleted", shard: number): Promise<void> {
    await this.writeCached(code, value);
    const now = await findLink(this.deps.shards.at(shard).primary, code).catch(() => undefined);
    if (now !== undefined && !sameValue(now ?? "deleted", value)) await this.writeCached(code, now ?? "deleted");
    await this.deps.invalidation.publish([code]).catch((error: unknown) => this.deps.logger.warn("invalidation not published; hot caches expire the link within HOT_CACHE_TTL_MS", { code, error: (error as Error).message }));
  }

  private async writeCached(code: string, value: LinkValue | "deleted"): Promise<void> {
    const route = this.deps.router.current;
    const owners = ownersOf(route, code);
    await Promise.all(
      owners.map((s) =>
        writeLink(this.deps.shards.at(s).redis, code, value, this.deps.cacheTtlSeconds).catch((error: unknown) =>
          this.deps.logger.warn("cached link not rewritten; it expires by its TTL", { code, shard: s, error: (error as Error).message }),
        ),
      ),
    );
  }
}

function withoutUrl({ url: _url, ...rest }: LinkEdit): Omit<LinkPatch, "longUrl"> {
  return rest;
}

function sameValue(a: LinkValue | "deleted", b: LinkValue | "deleted"): boolean {
  return a === "deleted" || b === "deleted" ? a === b : a.longUrl === b.longUrl && a.expiresAt === b.expiresAt && a.maxVisits === b.maxVisits && a.owner === b.owner && (a.forwardQuery ?? true) === (b.forwardQuery ?? true) && JSON.stringify(a.rules) === JSON.stringify(b.rules) && a.passwordHash === b.passwordHash && a.disabled === b.disabled;
}

function valueOf(link: StoredLink): LinkValue {
  return linkValue({ ...link, expiresAt: link.expiresAt?.getTime() ?? null, disabled: link.disabled?.reason });
}

function notFound(code: string): AppError {
  return new AppError("short-url-not-found", `no short URL ${JSON.stringify(code)} among this key's links`);
}

interface LinkPosition {
  createdKey: string;
  code: string;
}

/** The database's order: created_at descending, then code descending byte by byte (COLLATE "C"). */
function newestFirst(a: StoredLink, b: StoredLink): number {
  if (a.createdKey !== b.createdKey) return BigInt(b.createdKey) > BigInt(a.createdKey) ? 1 : -1;
  return a.code === b.code ? 0 : a.code < b.code ? 1 : -1;
}

function encodeCursor(position: LinkPosition): string {
  return Buffer.from(JSON.stringify([position.createdKey, position.code])).toString("base64url");
}

/**
 * A cursor this API could have returned, or a 400: microseconds since the epoch within
 * PostgreSQL's timestamp range (as digits, so no calendar to get wrong) and a code of the
 * shape links have. Nothing else reaches SQL.
 */
function decodeCursor(cursor: string): LinkPosition {
  let parts: unknown;
  try {
    parts = JSON.parse(Buffer.from(cursor, "base64url").toString());
  } catch {
    parts = null;
  }
  if (Array.isArray(parts) && parts.length === 2) {
    const [createdKey, code] = parts as unknown[];
    if (typeof createdKey === "string" && /^(0|[1-9]\d{0,15})$/.test(createdKey) && typeof code === "string" && isLinkPathShape(code)) return { createdKey, code };
  }
  throw new AppError("invalid-query", "cursor is not one this API returned");
}
