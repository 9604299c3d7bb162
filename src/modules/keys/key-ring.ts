import type Redis from "ioredis";
import { hashKey, keyIdOf } from "../../domain/api-key";
import type { PgNode } from "../../storage/nodes";
import { findActiveKey, revokedSince, type KeyScope } from "../../storage/key-rows";

export const KEYS_CHANNEL = "shorten:keys";

export interface Principal {
  keyId: string;
  name: string;
  scope: KeyScope;
}

/**
 * Which API key a request carries. Active keys are looked up once in the catalog (shard 0; its
 * replica while the primary is down) and then held in memory, so a keyed request costs no query.
 * A revoked key stops working on every instance within `pollMs`: the `keys revoke` command
 * announces it on Redis pub/sub (at once), and every instance also polls the catalog for keys
 * revoked since its last poll (the guarantee when the announcement is lost). Whoever holds a
 * connection opened with a key (the WebSocket hub) hears of each revocation through `onRevoked`.
 *
 * @example
 *   const keys = new KeyRing({ catalog, subscriber, pollMs: 1000 });
 *   await keys.start();
 *   const who = await keys.verify("shk_3fT9aB2x_..."); // Principal | null
 */
export class KeyRing {
  private readonly known = new Map<string, Principal>();
  private since: Date | null = null;
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly onMessage = (channel: string, id: string) => {
    if (channel === KEYS_CHANNEL) this.forget([id]);
  };

  /** Told the ids of keys revoked (by the announcement or the poll; an id may come more than once). */
  onRevoked: ((keyIds: readonly string[]) => void) | undefined;

  constructor(private readonly deps: { catalog: { primary: PgNode; replica: PgNode }; subscriber: Redis; pollMs: number }) {}

  async start(): Promise<void> {
    this.deps.subscriber.on("message", this.onMessage);
    await this.deps.subscriber.subscribe(KEYS_CHANNEL).catch(() => {});
    await this.poll();
    this.timer = setInterval(() => void this.poll(), this.deps.pollMs);
    this.timer.unref?.();
  }

  /** The key's principal, or null when the text is not an active key. Throws only when the catalog cannot answer. */
  async verify(text: string): Promise<Principal | null> {
    const id = keyIdOf(text);
    if (id === null) return null;
    const hash = hashKey(text).toString("hex");
    const cached = this.known.get(hash);
    if (cached) return cached;
    const { primary, replica } = this.deps.catalog;
    const row = await findActiveKey(primary, hashKey(text)).catch(() => findActiveKey(replica, hashKey(text)));
    if (row === null || row.id !== id) return null;
    const principal = { keyId: row.id, name: row.name, scope: row.scope };
    this.known.set(hash, principal);
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
