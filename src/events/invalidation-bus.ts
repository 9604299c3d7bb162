import { INVALIDATION_CHANNEL } from "../storage/redis-keys";
import type Redis from "ioredis";


/** How long publish() waits for its own message to come back before it gives up waiting. */
const ECHO_WAIT_MS = 250;

/**
 * Tells every instance to forget links: a change to a link (edit, delete, expiry, a move) is
 * published here, and the caller acknowledges the change only after the message came back to
 * this instance's own subscriber. Redis writes a message to every subscriber before it answers
 * the PUBLISH, so by then every other instance holds it too; the wait also lets this process
 * read the rest of that moment's input, so instances sharing a process (the in-process tests)
 * drop the codes before the response goes out. Each instance drops the codes from its own cache
 * at once and from the others' when the message arrives.
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
  /** Each message starts with a token naming its publisher and number (`#` is never in a code). */
  private readonly self = `#${crypto.randomUUID().slice(0, 8)}-`;
  private sent = 0;
  private readonly echoes = new Map<string, () => void>();

  private readonly onMessage = (channel: string, message: string) => {
    if (channel !== INVALIDATION_CHANNEL) return;
    const words = message.split(" ").filter((c) => c.length > 0);
    const codes = words.filter((w) => !w.startsWith("#"));
    if (codes.length > 0) this.deps.drop(codes);
    this.echoes.get(words[0] ?? "")?.();
  };
  private readonly onReady = () => this.deps.clear();

  constructor(private readonly deps: { publisher: Redis; subscriber: Redis; drop: (codes: readonly string[]) => void; clear: () => void }) {}

  async start(): Promise<void> {
    this.deps.subscriber.on("message", this.onMessage);
    // ioredis re-subscribes by itself after a reconnect and emits "ready" again: clear then.
    this.deps.subscriber.on("ready", this.onReady);
    await this.deps.subscriber.subscribe(INVALIDATION_CHANNEL);
  }

  /**
   * Drops `codes` here, then on every other instance; resolves once the message came back (or
   * after ECHO_WAIT_MS when this subscriber is slow: Redis took it, the others have it).
   */
  async publish(codes: readonly string[]): Promise<void> {
    if (codes.length === 0) return;
    this.deps.drop(codes);
    const token = `${this.self}${++this.sent}`;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const echoed = new Promise<void>((resolve) => {
      this.echoes.set(token, resolve);
      timer = setTimeout(resolve, ECHO_WAIT_MS);
    });
    try {
      // Codes never contain a space (Base62 and aliases of [A-Za-z0-9_-]), so a space joins them.
      await this.deps.publisher.publish(INVALIDATION_CHANNEL, [token, ...codes].join(" "));
      await echoed;
      // The other subscribers' sockets became readable with ours: let this turn of the loop read them.
      await new Promise<void>((resolve) => setImmediate(resolve));
    } finally {
      clearTimeout(timer);
      this.echoes.delete(token);
    }
  }

  async stop(): Promise<void> {
    this.deps.subscriber.off("message", this.onMessage);
    this.deps.subscriber.off("ready", this.onReady);
    await this.deps.subscriber.unsubscribe(INVALIDATION_CHANNEL).catch(() => {});
  }
}
