import type Redis from "ioredis";
import type { SerializedEvent } from "./event-factory";

export type EventTopic = "events" | "reads" | "writes";

/** A batch as JSON array texts: all events, then the reads and the writes among them. */
export interface EventBatch {
  events: string;
  reads: string;
  writes: string;
  readCount: number;
  writeCount: number;
}

/** Where a batch of events is delivered on this instance (the WebSocket hub). */
export interface LocalDelivery {
  deliver(topic: EventTopic, eventsJson: string, count: number): void;
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
 * Wire format on Redis: `origin \n readsJson \n writesJson`. JSON text holds no raw newline, so
 * a receiver splits without parsing, skips its own batches, and forwards the text as is.
 * Within a batch, the `events` topic lists the reads before the writes.
 *
 * @example
 *   const bus = new EventBus({ node: "instance-0", channel: "shorten:events", flushMs: 50, ... });
 *   bus.start();
 *   bus.emit(factory.read(outcome, hits, misses));
 */
export class EventBus {
  private reads: string[] = [];
  private writes: string[] = [];
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

  emit(event: SerializedEvent): void {
    if (this.reads.length + this.writes.length >= this.options.maxPending) {
      this.options.onDrop(1);
      return;
    }
    (event.type === "read" ? this.reads : this.writes).push(event.json);
  }

  flush(): void {
    const count = this.reads.length + this.writes.length;
    if (count === 0) return;
    const reads = `[${this.reads.join(",")}]`;
    const writes = `[${this.writes.join(",")}]`;
    const readCount = this.reads.length;
    const writeCount = this.writes.length;
    this.reads = [];
    this.writes = [];
    this.deliverLocally(batchOf(reads, writes, readCount, writeCount));
    this.options.publisher.publish(this.options.channel, `${this.options.node}\n${reads}\n${writes}`).catch(() => this.options.onDrop(count));
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.flush();
  }

  private receive(message: string): void {
    const [origin, reads, writes] = message.split("\n");
    if (origin === this.options.node || reads === undefined || writes === undefined) return;
    this.deliverLocally(batchOf(reads, writes, countItems(reads), countItems(writes)));
  }

  private deliverLocally(batch: EventBatch): void {
    const { local } = this.options;
    local.deliver("events", batch.events, batch.readCount + batch.writeCount);
    if (batch.readCount > 0) local.deliver("reads", batch.reads, batch.readCount);
    if (batch.writeCount > 0) local.deliver("writes", batch.writes, batch.writeCount);
  }
}

function batchOf(reads: string, writes: string, readCount: number, writeCount: number): EventBatch {
  const events = readCount === 0 ? writes : writeCount === 0 ? reads : `${reads.slice(0, -1)},${writes.slice(1)}`;
  return { events, reads, writes, readCount, writeCount };
}

/** Counts the events in a JSON array of event objects by their unique leading key. */
function countItems(json: string): number {
  let count = 0;
  for (let i = json.indexOf('{"event_id"'); i >= 0; i = json.indexOf('{"event_id"', i + 1)) count++;
  return count;
}
