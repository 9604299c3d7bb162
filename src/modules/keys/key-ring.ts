import type Redis from "ioredis";
import { LRUCache } from "lru-cache";
import { hashKey, keyIdOf, type Principal } from "../../domain/api-key";
import type { PgNode } from "../../storage/nodes";
import { KEYS_CHANNEL } from "../../storage/redis-keys";
import { findActiveKey, revokedSince } from "../../storage/key-rows";



/**
 * Which API key a request carries. Active keys are looked up once in the catalog (shard 0; its
 * replica while the primary is down) and then held in memory, so a keyed request costs no query.
 * A revoked key stops working on every instance within `pollMs`: the `keys revoke` command
 * announces it on Redis pub/sub (at once), and every instance also polls the catalog for keys
 * revoked since its last poll (the guarantee when the announcement is lost). Whoever holds a
 * connection opened with a key (the WebSocket hub) hears of each revocation through `onRevoked`.
 *
 * Wrong keys cost the catalog nothing twice: a key text the catalog did not know is remembered
 * (by its hash, never by its visible id, which anyone may know) for `unknownTtlMs`, up to
 * UNKNOWN_MAX texts, and concurrent checks of one text share one query. A key is stored before
 * its text is ever shown, so a remembered text is wrong for good unless the check fell back to
 * a lagging replica; either way it is asked again after `unknownTtlMs`. Before anything but
 * the memory of valid keys answers, `lookupGate` charges the request (the client address's
 * `auth` budget; refunded if the key proves valid), so a flood of random keys gets 429s instead
 * of reaching the catalog.
 *
 * @example
 *   const keys = new KeyRing({ catalog, subscriber, pollMs: 1000, unknownTtlMs: 5000 });
 *   await keys.start();
 *   const who = await keys.verify("shk_3fT9aB2x_...", request); // Principal | null
 */
const UNKNOWN_MAX = 10_000;

export class KeyRing {
  private readonly known = new Map<string, Principal>();
  private readonly unknown: LRUCache<string, true>;
  private readonly checking = new Map<string, Promise<Principal | null>>();
  private since: Date | null = null;
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly onMessage = (channel: string, id: string) => {
    if (channel === KEYS_CHANNEL) this.forget([id]);
  };

  /** Told the ids of keys revoked (by the announcement or the poll; an id may come more than once). */
  onRevoked: ((keyIds: readonly string[]) => void) | undefined;

  constructor(
    private readonly deps: {
      catalog: { primary: PgNode; replica: PgNode };
      subscriber: Redis;
      pollMs: number;
      unknownTtlMs: number;
      /** Charged before a credential this instance does not know as valid is checked (throws to refuse: 429), refunded when it proves valid. */
      lookupGate?: { charge(request: Request): Promise<void>; refund(request: Request): Promise<void> };
    },
  ) {
    this.unknown = new LRUCache({ max: UNKNOWN_MAX, ttl: Math.max(1, deps.unknownTtlMs) });
  }

  async start(): Promise<void> {
    this.deps.subscriber.on("message", this.onMessage);
    await this.deps.subscriber.subscribe(KEYS_CHANNEL).catch(() => {});
    await this.poll();
    this.timer = setInterval(() => void this.poll(), this.deps.pollMs);
    this.timer.unref?.();
  }

  /**
   * The key's principal, or null when the text is not an active key. With `request`, anything the
   * memory of valid keys cannot answer first pays `lookupGate` (whose refusal it throws). Throws
   * otherwise only when the catalog cannot answer.
   */
  async verify(text: string, request?: Request): Promise<Principal | null> {
    const hash = hashKey(text);
    const hex = hash.toString("hex");
    const cached = this.known.get(hex);
    if (cached) return cached;
    const gate = this.deps.lookupGate;
    if (request && gate) await gate.charge(request);
    const id = keyIdOf(text);
    if (id === null || this.unknown.has(hex)) return null;
    let check = this.checking.get(hex);
    if (!check) {
      check = this.lookup(id, hash, hex).finally(() => this.checking.delete(hex));
      this.checking.set(hex, check);
    }
    const principal = await check;
    if (principal && request && gate) void gate.refund(request);
    return principal;
  }

  private async lookup(id: string, hash: Buffer, hex: string): Promise<Principal | null> {
    const { primary, replica } = this.deps.catalog;
    const row = await findActiveKey(primary, hash).catch(() => findActiveKey(replica, hash));
    if (row === null || row.id !== id) {
      this.unknown.set(hex, true);
      return null;
    }
    const principal = { keyId: row.id, name: row.name, scope: row.scope };
    this.known.set(hex, principal);
    return principal;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.deps.subscriber.off("message", this.onMessage);
    await this.deps.subscriber.unsubscribe(KEYS_CHANNEL).catch(() => {});
  }

  private forget(ids: readonly string[]): void {
    if (ids.length === 0) return;
    for (const [hash, p] of this.known) if (ids.includes(p.keyId)) this.known.delete(hash);
    this.onRevoked?.(ids);
  }

  private async poll(): Promise<void> {
    try {
      const { ids, now } = await revokedSince(this.deps.catalog.primary, this.since);
      this.forget(ids);
      // Overlap by a second: a revocation committed just before `now` is seen again, never missed.
      this.since = new Date(now.getTime() - 1000);
    } catch {
      // The catalog is down: no key is verified anew meanwhile, and cached ones keep working.
    }
  }
}
