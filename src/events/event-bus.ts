import type Redis from "ioredis";
import type { LinkEvent } from "./event-schema";

export type EventTopic = "events" | "reads" | "writes";

/** Where a batch of events is delivered on this instance (the WebSocket hub). */
export interface LocalDelivery {
  deliver(topic: EventTopic, events: readonly LinkEvent[]): void;
}

export interface EventBusOptions {
  node: string;
  channel: string;
  flushMs: number;
  /** Events held between flushes at most; past it new events are dropped and counted. */
  maxPending: number;
  publisher: Redis;
  subscriber: Redis;
  local: LocalDelivery;
  onDrop: (count: number) => void;
}

/**
 * Shares events across instances through Redis pub/sub, batched: emit() only appends to an
 * array, and every `flushMs` one Redis PUBLISH carries the whole batch. Own events are delivered
 * locally at flush time; remote batches are delivered as they arrive, so every client sees every
 * instance's events and no request ever waits on the stream.
 *
 * @example
 *   const bus = new EventBus({ node: "instance-0", channel: "shorten:events", flushMs: 50, ... });
 *   await bus.start();
 *   bus.emit(event);
 */
export class EventBus {
  private pending: LinkEvent[] = [];
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly options: EventBusOptions) {}

  start(): void {
    const { subscriber, channel } = this.options;
    subscriber.on("message", (ch: string, message: string) => {
      if (ch === channel) this.receive(message);
    });
    // Not awaited: with Redis down at boot the subscription waits in ioredis' offline queue and
    // is sent on connect; local delivery works meanwhile.
    void subscriber.subscribe(channel).catch(() => {});
    this.timer = setInterval(() => this.flush(), this.options.flushMs);
  }

  emit(event: LinkEvent): void {
    if (this.pending.length >= this.options.maxPending) {
      this.options.onDrop(1);
      return;
    }
    this.pending.push(event);
  }

  flush(): void {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.deliverLocally(batch);
    const message = JSON.stringify({ origin: this.options.node, events: batch });
    this.options.publisher.publish(this.options.channel, message).catch(() => this.options.onDrop(batch.length));
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.flush();
  }

  private receive(message: string): void {
    let parsed: { origin?: unknown; events?: unknown };
    try {
      parsed = JSON.parse(message);
    } catch {
      return;
    }
    if (parsed.origin === this.options.node || !Array.isArray(parsed.events)) return;
    this.deliverLocally(parsed.events as LinkEvent[]);
  }

  private deliverLocally(events: readonly LinkEvent[]): void {
    const { local } = this.options;
    local.deliver("events", events);
    const reads = events.filter((e) => e.type === "read");
    if (reads.length > 0) local.deliver("reads", reads);
    if (reads.length < events.length) local.deliver("writes", events.filter((e) => e.type === "write"));
  }
}
