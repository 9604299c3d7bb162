import { createHash } from "node:crypto";
import { AppError, InfraError } from "../../errors";
import { checkLongUrl, type LongUrlRules } from "../../domain/long-url";
import { isReservedCode, isShortCodeShape } from "../../domain/short-code";
import type { ShardSet } from "../../storage/shard-set";
import { cacheCodeForUrl, cacheLongUrl, getCachedCodeForUrl, getCachedLongUrl } from "../../storage/link-cache";
import { claimUrl, createLinksWithIndex, deleteLink, findCodeForUrl, findLongUrl, insertLink, type NewLink } from "../../storage/link-rows";
import type { IdTicket } from "../../ids/id-source";
import type { Routing } from "../../domain/topology";
import type { RingRouter } from "../../topology/ring-router";
import type { HotLinks } from "./hot-links";
import { CreateBatcher } from "./create-batcher";
import type { ClaimRepairQueue } from "./claim-repair";
import type { ReadOutcome, WriteOutcome, LinkObserver } from "./outcomes";

/** The slice of the ID source the write path needs: synchronous in the common case. */
export interface TicketSource {
  takeFor(preferredShards: readonly number[]): IdTicket | undefined;
  takeAsync(shard: number): Promise<IdTicket>;
}

export interface LinkServiceDeps {
  shards: ShardSet;
  router: RingRouter;
  hot: HotLinks;
  tickets: TicketSource;
  observer: LinkObserver;
  repairs: ClaimRepairQueue;
  urlRules: LongUrlRules;
  cacheTtlSeconds: number;
  now?: () => number;
}

export interface CreatedLink {
  code: string;
  longUrl: string;
  created: boolean;
  shard: number;
}

export interface ResolvedLink {
  longUrl: string;
  outcome: ReadOutcome;
}

/**
 * Create and resolve short links on the sharded storage. Plain values in and out: no HTTP here.
 *
 * A new URL's code comes from the URL's own shard (the ring places the URL's index there), so its
 * link row and index row are written by one statement: a code is returned only after its row
 * exists, racing creates of one URL get the first claim's code, and a crash leaves both rows or
 * neither. Only when that shard's primary is down does the link go to another shard first, with
 * the index row deferred to the repair queue.
 *
 * Every request routes by one snapshot of the ring (RingRouter.current). While the ring changes,
 * reads that miss on the new owner ask the old one, and a create first asks the URL's old owner
 * whether the URL already has a code, so neither links nor dedupe are lost mid-migration.
 */
export class LinkService {
  private nextShard = 0;
  private readonly now: () => number;
  /** Group commit: concurrent creates for one shard share one statement. */
  readonly batcher: CreateBatcher<NewLink, string>;

  constructor(private readonly deps: LinkServiceDeps) {
    this.now = deps.now ?? performance.now.bind(performance);
    this.batcher = new CreateBatcher((shard, links) => createLinksWithIndex(deps.shards.at(shard).primary, links), isUniqueViolation);
  }

  async create(rawUrl: string): Promise<CreatedLink> {
    const started = this.now();
    const checked = checkLongUrl(rawUrl, this.deps.urlRules);
    if (!checked.ok) throw new AppError("invalid-url", checked.reason);
    const longUrl = checked.href;
    const urlHash = createHash("sha256").update(longUrl).digest();
    const route = this.deps.router.beginWrite();
    try {
      const indexShard = this.deps.shards.at(route.write.shardFor(longUrl));
      const cached = await getCachedCodeForUrl(indexShard.redis, urlHash.toString("hex")).catch(() => null);
      const result = cached !== null ? { code: cached, created: false } : ((await this.claimedOnOldOwner(route, longUrl, urlHash, indexShard.index)) ?? (await this.place(route, indexShard.index, urlHash, longUrl)));
      const shard = route.read.shardFor(result.code);
      if (cached === null) void this.warmCache(result.code, shard, longUrl, indexShard.index, urlHash);
      this.observeWrite(started, result.code, "OK", shard, result.created);
      return { code: result.code, longUrl, created: result.created, shard };
    } catch (error) {
      this.observeWrite(started, null, "ERROR", null, false);
      throw asServiceError(error);
    } finally {
      this.deps.router.endWrite(route);
    }
  }

  /**
   * Mid-migration, the URL's index row may still sit on its owner under the other ring (not
   * copied yet): that claim counts, or the same URL would get a second code. Asked on the
   * primary, since a lagging replica could miss a fresh claim.
   */
  private async claimedOnOldOwner(route: Routing, longUrl: string, urlHash: Buffer, indexShard: number): Promise<{ code: string; created: false } | null> {
    if (route.fallback === null) return null;
    const oldShard = route.fallback.shardFor(longUrl);
    if (oldShard === indexShard) return null;
    const code = await findCodeForUrl(this.deps.shards.at(oldShard).primary, urlHash).catch(() => null);
    return code === null ? null : { code, created: false };
  }

  /**
   * Normally the code is taken from the URL's own shard, so link and index are written together
   * in one statement. When that shard's primary cannot take writes, the link goes to another
   * shard (the code is ours to choose) and the index row is written later by the repair queue.
   */
  private async place(route: Routing, indexShard: number, urlHash: Buffer, longUrl: string): Promise<{ code: string; created: boolean }> {
    const primary = this.deps.shards.at(indexShard).primary;
    if (!primary.policy.isOpen) {
      try {
        return await this.createColocated(indexShard, urlHash, longUrl);
      } catch (error) {
        if (!isUnavailable(error)) throw error;
      }
    }
    const ticket = await this.insertOnWritableShard(route.write.members, indexShard, longUrl);
    const winner = await this.claim(indexShard, urlHash, longUrl, ticket);
    if (winner !== ticket.code) void deleteLink(this.deps.shards.at(ticket.shard).primary, ticket.code).catch(() => {});
    return { code: winner, created: winner === ticket.code };
  }

  private async createColocated(shard: number, urlHash: Buffer, longUrl: string): Promise<{ code: string; created: boolean }> {
    const primary = this.deps.shards.at(shard).primary;
    for (let attempt = 0; ; attempt++) {
      const ticket = this.takeTicket([shard]) ?? (await this.deps.tickets.takeAsync(shard));
      try {
        const winner = await this.batcher.submit(shard, { id: ticket.id, code: ticket.code, longUrl, urlHash });
        return { code: winner, created: winner === ticket.code };
      } catch (error) {
        // Only a code collision (two instances sharing an INSTANCE_ID) is worth another code.
        if (!isUniqueViolation(error) || attempt >= 2) throw error;
      }
    }
  }

  async resolve(code: string): Promise<ResolvedLink> {
    const started = this.now();
    if (!isShortCodeShape(code)) {
      this.observeRead(started, code, null, "none", "NOT_FOUND");
      throw new AppError("short-url-not-found", `no short URL ${JSON.stringify(code.slice(0, 32))}`);
    }
    const route = this.deps.router.current;
    const owner = route.read.shardFor(code);
    const hot = this.deps.hot.get(code);
    if (hot !== undefined) return { longUrl: hot, outcome: this.observeRead(started, code, owner, "memory", "OK") };
    const cached = await getCachedLongUrl(this.deps.shards.at(owner).redis, code).catch(() => null);
    if (cached !== null) {
      this.deps.hot.set(code, cached);
      return { longUrl: cached, outcome: this.observeRead(started, code, owner, "redis", "OK") };
    }

    let failure: unknown = null;
    try {
      const fromDb = await this.findInDb(owner, code);
      if (fromDb !== null) return this.found(started, code, owner, owner, fromDb.source, fromDb.longUrl);
    } catch (error) {
      failure = error;
    }
    // Mid-migration the row may not have been copied to its new owner yet: the old owner answers,
    // and the new owner's cache is filled so the next read stays there.
    const oldOwner = route.fallback?.shardFor(code);
    if (oldOwner !== undefined && oldOwner !== owner) {
      try {
        const fromOld = await this.findOnShard(oldOwner, code);
        if (fromOld !== null) return this.found(started, code, owner, oldOwner, fromOld.source, fromOld.longUrl);
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure !== null) {
      this.observeRead(started, code, owner, "error", "ERROR");
      throw asServiceError(failure);
    }
    this.observeRead(started, code, owner, "none", "NOT_FOUND");
    throw new AppError("short-url-not-found", `no short URL ${JSON.stringify(code)}`);
  }

  /** Redis, then the database; throws only when the primary could not answer. */
  private async findOnShard(shard: number, code: string): Promise<{ longUrl: string; source: "redis" | "replica" | "primary" } | null> {
    const cached = await getCachedLongUrl(this.deps.shards.at(shard).redis, code).catch(() => null);
    return cached !== null ? { longUrl: cached, source: "redis" } : this.findInDb(shard, code);
  }

  /** A replica miss or failure is not an answer: it may lag or be down, so the primary decides. */
  private async findInDb(shard: number, code: string): Promise<{ longUrl: string; source: "replica" | "primary" } | null> {
    const { replica, primary } = this.deps.shards.at(shard);
    const fromReplica = await findLongUrl(replica, code).catch(() => null);
    if (fromReplica !== null) return { longUrl: fromReplica, source: "replica" };
    const fromPrimary = await findLongUrl(primary, code);
    return fromPrimary === null ? null : { longUrl: fromPrimary, source: "primary" };
  }

  private found(started: number, code: string, owner: number, foundOn: number, source: "redis" | "replica" | "primary", longUrl: string): ResolvedLink {
    if (source !== "redis" || foundOn !== owner) void cacheLongUrl(this.deps.shards.at(owner).redis, code, longUrl, this.deps.cacheTtlSeconds).catch(() => {});
    this.deps.hot.set(code, longUrl);
    return { longUrl, outcome: this.observeRead(started, code, foundOn, source, "OK") };
  }

  /** Any member shard whose primary is up, other than `avoid` (the one that just failed). */
  private async insertOnWritableShard(members: readonly number[], avoid: number, longUrl: string): Promise<IdTicket> {
    const { shards, tickets } = this.deps;
    let lastError: unknown = new AppError("storage-unavailable", "no shard primary accepts writes");
    const start = this.nextShard++ % members.length;
    const order = shards.writable(members, start).filter((s) => s !== avoid);
    for (let attempt = 0; attempt < order.length; attempt++) {
      const candidates = order.slice(attempt);
      const ticket = this.takeTicket(candidates) ?? (await tickets.takeAsync(candidates[0]!));
      try {
        if (await insertLink(shards.at(ticket.shard).primary, { id: ticket.id, code: ticket.code, longUrl })) return ticket;
        lastError = new AppError("internal", `short code ${ticket.code} is taken by another id; is INSTANCE_ID shared by two instances?`);
      } catch (error) {
        lastError = error;
        if (!isUnavailable(error)) throw error;
      }
    }
    throw lastError;
  }

  private takeTicket(candidates: readonly number[]): IdTicket | undefined {
    for (;;) {
      const ticket = this.deps.tickets.takeFor(candidates);
      if (ticket === undefined || !isReservedCode(ticket.code)) return ticket;
    }
  }

  private async claim(indexShard: number, urlHash: Buffer, longUrl: string, ticket: IdTicket): Promise<string> {
    try {
      return await claimUrl(this.deps.shards.at(indexShard).primary, { urlHash, longUrl, code: ticket.code });
    } catch (error) {
      if (!isUnavailable(error)) throw error;
      // The URL's index shard is down: the link exists and is returned; the index row is
      // written when that primary is back (first claim wins), so dedupe is deferred, not lost.
      this.deps.repairs.enqueue({ urlHash, longUrl, code: ticket.code });
      return ticket.code;
    }
  }

  private async warmCache(code: string, codeShard: number, longUrl: string, indexShard: number, urlHash: Buffer): Promise<void> {
    const { shards, cacheTtlSeconds } = this.deps;
    await Promise.allSettled([
      cacheLongUrl(shards.at(codeShard).redis, code, longUrl, cacheTtlSeconds),
      cacheCodeForUrl(shards.at(indexShard).redis, urlHash.toString("hex"), code, cacheTtlSeconds),
    ]);
  }

  private observeRead(started: number, code: string, shard: number | null, source: ReadOutcome["source"], status: ReadOutcome["status"]): ReadOutcome {
    const outcome: ReadOutcome = { code, shard, source, status, cache: source === "redis" || source === "memory" ? "HIT" : "MISS", latencyMs: this.now() - started };
    this.deps.observer.onRead(outcome);
    return outcome;
  }

  private observeWrite(started: number, code: string | null, status: WriteOutcome["status"], shard: number | null, created: boolean): void {
    this.deps.observer.onWrite({ code, shard, status, created, latencyMs: this.now() - started });
  }
}

function isUniqueViolation(error: unknown): boolean {
  return error instanceof InfraError && (error.cause as { code?: unknown } | undefined)?.code === "23505";
}

function isUnavailable(error: unknown): boolean {
  return error instanceof InfraError && error.transient;
}

function asServiceError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof InfraError) {
    return new AppError("storage-unavailable", "storage is temporarily unavailable; try again", { retryable: true, retryAfterSeconds: 1, cause: error });
  }
  return new AppError("internal", "internal error", { cause: error });
}
