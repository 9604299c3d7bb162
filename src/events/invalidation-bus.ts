import { INVALIDATION_CHANNEL } from "../storage/redis-keys";
import type Redis from "ioredis";


/**
 * Tells every instance to forget links: a change to a link (edit, delete, expiry, a move) is
 * published here, and the caller acknowledges the change only after the PUBLISH returned, so
 * no instance's hot-link cache serves the old target after the response. Each instance drops
 * the codes from its own cache at once and from the others' when the message arrives.
 *
 * A subscriber that was disconnected may have missed messages, so it clears its whole cache
 * when it (re)subscribes. If the bus is down, publish() rejects and the caller decides; entries
 * on other instances then expire within the hot cache's TTL.
 *
 * @example
 *   const inv = new InvalidationBus({ publisher, subscriber, drop: (c) => hot.drop(c), clear: () => hot.clear() });
 *   await inv.start(); await inv.publish(["aB3x9"]);
 */
export class InvalidationBus {
  private readonly onMessage = (channel: string, message: string) => {
    if (channel !== INVALIDATION_CHANNEL) return;
    const codes = message.split(" ").filter((c) => c.length > 0);
    if (codes.length > 0) this.deps.drop(codes);
  };
  private readonly onReady = () => this.deps.clear();

  constructor(private readonly deps: { publisher: Redis; subscriber: Redis; drop: (codes: readonly string[]) => void; clear: () => void }) {}

  async start(): Promise<void> {
    this.deps.subscriber.on("message", this.onMessage);
    // ioredis re-subscribes by itself after a reconnect and emits "ready" again: clear then.
    this.deps.subscriber.on("ready", this.onReady);
    await this.deps.subscriber.subscribe(INVALIDATION_CHANNEL);
  }

  /** Drops `codes` here, then on every other instance; resolves once Redis took the message. */
  async publish(codes: readonly string[]): Promise<void> {
    if (codes.length === 0) return;
    this.deps.drop(codes);
    // Codes never contain a space (Base62 and aliases of [A-Za-z0-9_-]), so a space joins them.
    await this.deps.publisher.publish(INVALIDATION_CHANNEL, codes.join(" "));
  }

  async stop(): Promise<void> {
    this.deps.subscriber.off("message", this.onMessage);
    this.deps.subscriber.off("ready", this.onReady);
    await this.deps.subscriber.unsubscribe(INVALIDATION_CHANNEL).catch(() => {});
  }
}
