import { AppError, asServiceError } from "../../errors";
import { checkLongUrl, type LongUrlRules } from "../../domain/long-url";
import { isReservedCode } from "../../domain/short-code";
import type { ShardSet } from "../../storage/shard-set";
import { linkValue, writeLink } from "../../storage/link-cache";
import { createLinksWithIndex, findCodeForUrl, insertLink, type NewLink } from "../../storage/link-rows";
import { insertOwnedLink } from "../../storage/owned-link-rows";
import type { IdTicket } from "../../ids/id-source";
import type { Routing } from "../../domain/topology";
import type { RingRouter } from "../../topology/ring-router";
import { CreateBatcher } from "./create-batcher";
import type { ClaimRepair } from "./claim-repair";
import type { WriteOutcome, LinkObserver } from "../../domain/outcomes";
import { dedupeKey } from "./dedupe-key";
import type { RedirectRule } from "../../domain/redirect-rules";
import { isUnavailable, isUniqueViolation } from "./service-errors";

/** The slice of the ID source the write path needs: synchronous in the common case. */
export interface TicketSource {
  takeFor(preferredShards: readonly number[]): IdTicket | undefined;
  takeAsync(shard: number): Promise<IdTicket>;
}

export interface LinkServiceDeps {
  shards: ShardSet;
  router: RingRouter;
  tickets: TicketSource;
  observer: LinkObserver;
  repairs: ClaimRepair;
  urlRules: LongUrlRules;
  /** The blocklist entry that blocks a normalised URL, or null. */
  blockedBy?: (href: string) => string | null;
  cacheTtlSeconds: number;
  now?: () => number;
}

export interface CreatedLink {
  code: string;
  longUrl: string;
  created: boolean;
  shard: number;
}

/**
 * Who creates, and the link's options. An alias, an expiry, a visit budget, a title or tags make
 * a link of its own (no dedupe): the same URL under two titles is two links.
 */
export interface CreateOptions {
  owner: string | null;
  alias?: string;
  expiresAt?: Date | null;
  maxVisits?: number | null;
  title?: string | null;
  tags?: readonly string[];
  /** false: the short URL's query string is not carried over to the target. */
  forwardQuery?: boolean;
  /** Redirect rules as the request gave them (their URLs are checked here). */
  rules?: readonly RedirectRule[];
  /** The link's password, hashed (argon2id) by the caller. */
  passwordHash?: string;
}

/** Does the create ask for a link of its own rather than the key's link for the URL? */
function ownLink(o: CreateOptions): boolean {
  return o.alias !== undefined || o.expiresAt != null || o.maxVisits != null || o.title != null || (o.tags !== undefined && o.tags.length > 0) || o.forwardQuery === false || (o.rules !== undefined && o.rules.length > 0) || o.passwordHash !== undefined;
}

/**
 * Create short links on the sharded storage. Plain values in and out: no HTTP here.
 *
 * A new URL's code comes from the URL's own shard (the ring places the URL's index there), so its
 * link row and index row are written by one statement: a code is returned only after its row
 * exists, racing creates of one URL get the first claim's code, and a crash leaves both rows or
 * neither. Only when that shard's primary is down does the link go to another shard first, with
 * the index row deferred to the repair queue. Dedupe is per owner: an API key gets its own code
 * for a URL, never another key's or an anonymous one (dedupe-key.ts).
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

  async create(rawUrl: string, options: CreateOptions = { owner: null }): Promise<CreatedLink> {
    const started = this.now();
    const longUrl = this.checkedUrl(rawUrl);
    const rules = options.rules === undefined || options.rules.length === 0 ? undefined : this.checkedRules(options.rules);
    if (rules !== undefined) options = { ...options, rules };
    const owner = options.owner;
    const urlHash = dedupeKey(owner, longUrl);
    const route = this.deps.router.beginWrite();
    try {
      if (ownLink(options)) return await this.createOwn(started, route, longUrl, options);
      // No Redis read first: the claim statement answers a repeated URL with its code anyway, and
      // the read cost more than it saved (A/B in the README: creates/s with and without it).
      const indexShard = route.write.shardFor(longUrl);
      const result = (await this.claimedOnOldOwner(route, longUrl, urlHash, indexShard)) ?? (await this.place(route, indexShard, urlHash, longUrl, owner));
      const shard = route.read.shardFor(result.code);
      if (result.created) void writeLink(this.deps.shards.at(shard).redis, result.code, { longUrl, expiresAt: null, maxVisits: null, owner }, this.deps.cacheTtlSeconds).catch(() => {});
      this.observeWrite(started, result.code, "OK", shard, result.created, owner);
      return { code: result.code, longUrl, created: result.created, shard };
    } catch (error) {
      this.observeWrite(started, null, "ERROR", null, false, owner);
      throw asServiceError(error);
    } finally {
      this.deps.router.endWrite(route);
    }
  }

  /** The URL as it will be stored and redirected to, or a 400 saying why not. */
  checkedUrl(rawUrl: string): string {
    return this.checkedTarget(rawUrl, "url");
  }

  /** Rules whose URLs pass the same checks as a link's (stored normalised), or a 400 naming the rule. */
  checkedRules(rules: readonly RedirectRule[]): RedirectRule[] {
    return rules.map((rule, i) => ({ when: rule.when, url: this.checkedTarget(rule.url, `rules[${i}].url`) }));
  }

  /** A target URL normalised, or a 400: not one we redirect to (the link's own URL's reasons already name `url`), or a blocked host. */
  private checkedTarget(raw: string, field: string): string {
    const checked = checkLongUrl(raw, this.deps.urlRules);
    if (!checked.ok) throw new AppError("invalid-url", field === "url" ? checked.reason : `${field}: ${checked.reason}`);
    const entry = this.deps.blockedBy?.(checked.href) ?? null;
    if (entry !== null) throw new AppError("blocked-url", `${field} leads to ${entry}, which this service blocks`);
    return checked.href;
  }

  /**
   * A link with options: its code is the alias (on the alias's ring owner) or a fresh code, and
   * it takes no part in dedupe. A taken alias is 409; the code is returned only after its row
   * exists, and its Redis entry is overwritten (an alias deleted before may have a tombstone).
   */
  private async createOwn(started: number, route: Routing, longUrl: string, options: CreateOptions): Promise<CreatedLink> {
    const link = linkValue({ ...options, longUrl, expiresAt: options.expiresAt?.getTime() ?? null, maxVisits: options.maxVisits ?? null });
    for (let attempt = 0; ; attempt++) {
      const ticket = this.takeTicket(route.write.members) ?? (await this.deps.tickets.takeAsync(route.write.members[0]!));
      const code = options.alias ?? ticket.code;
      const shard = route.write.shardFor(code);
      const row = { id: ticket.id, code, longUrl, owner: options.owner, alias: options.alias !== undefined, expiresAt: options.expiresAt ?? null, maxVisits: options.maxVisits ?? null, title: options.title ?? null, tags: options.tags ?? [], forwardQuery: options.forwardQuery !== false, rules: options.rules ?? null, passwordHash: options.passwordHash ?? null };
      if (await insertOwnedLink(this.deps.shards.at(shard).primary, row)) {
        await writeLink(this.deps.shards.at(shard).redis, code, link, this.deps.cacheTtlSeconds).catch(() => {});
        this.observeWrite(started, code, "OK", shard, true, options.owner);
        return { code, longUrl, created: true, shard };
      }
      if (options.alias !== undefined) throw new AppError("alias-taken", `alias ${JSON.stringify(code)} is taken`);
      if (attempt >= 2) throw new AppError("internal", `short code ${code} is taken by another id; is INSTANCE_ID shared by two instances?`);
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
  private async place(route: Routing, indexShard: number, urlHash: Buffer, longUrl: string, owner: string | null): Promise<{ code: string; created: boolean }> {
    const primary = this.deps.shards.at(indexShard).primary;
    if (!primary.policy.isOpen) {
      try {
        return await this.createColocated(indexShard, urlHash, longUrl, owner);
      } catch (error) {
        if (!isUnavailable(error)) throw error;
      }
    }
    const ticket = await this.insertOnWritableShard(route.write.members, indexShard, longUrl, owner, urlHash);
    // The claim is owed durably (pending_claims, written with the link); try it now. While the
    // URL's shard is down the link is returned and the claim waits for the repair: first claim wins.
    const winner = (await this.deps.repairs.settle(ticket.shard, { urlHash, longUrl, code: ticket.code }, false)) ?? ticket.code;
    return { code: winner, created: winner === ticket.code };
  }

  private async createColocated(shard: number, urlHash: Buffer, longUrl: string, owner: string | null): Promise<{ code: string; created: boolean }> {
    const primary = this.deps.shards.at(shard).primary;
    for (let attempt = 0; ; attempt++) {
      const ticket = this.takeTicket([shard]) ?? (await this.deps.tickets.takeAsync(shard));
      try {
        const winner = await this.batcher.submit(shard, { id: ticket.id, code: ticket.code, longUrl, urlHash, owner });
        return { code: winner, created: winner === ticket.code };
      } catch (error) {
        // Only a code collision (two instances sharing an INSTANCE_ID) is worth another code.
        if (!isUniqueViolation(error) || attempt >= 2) throw error;
      }
    }
  }

  /** Any member shard whose primary is up, other than `avoid` (the one that just failed). */
  private async insertOnWritableShard(members: readonly number[], avoid: number, longUrl: string, owner: string | null, urlHash: Buffer): Promise<IdTicket> {
    const { shards, tickets } = this.deps;
    let lastError: unknown = new AppError("storage-unavailable", "no shard primary accepts writes");
    const start = this.nextShard++ % members.length;
    const order = shards.writable(members, start).filter((s) => s !== avoid);
    for (let attempt = 0; attempt < order.length; attempt++) {
      const candidates = order.slice(attempt);
      const ticket = this.takeTicket(candidates) ?? (await tickets.takeAsync(candidates[0]!));
      try {
        if (await insertLink(shards.at(ticket.shard).primary, { id: ticket.id, code: ticket.code, longUrl, owner, urlHash })) return ticket;
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

  private observeWrite(started: number, code: string | null, status: WriteOutcome["status"], shard: number | null, created: boolean, owner: string | null): void {
    this.deps.observer.onWrite({ code, shard, status, created, owner, latencyMs: this.now() - started });
  }
}
