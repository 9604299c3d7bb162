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
  /** The events of one owner's links (a JSON array text), for that owner's stream. */
  deliverOwned(owner: string, eventsJson: string, count: number): void;
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
 * Only listeners pay: an instance subscribes to the channel while it has WebSocket clients, and
 * publishes while another instance is subscribed (PUBSUB NUMSUB, checked every second). Without
 * this, every instance would receive and decode every other instance's full stream for nobody;
 * measured, that was most of the stream's cost per request. The price: a client that connects
 * to an instance nobody was watching sees the other instances' events up to a second later.
 *
 * Wire format on Redis: `origin readCount writeCount \n readsJson \n writesJson`, then one line
 * `ownerKeyId count eventsJson` per owner with events in the batch (the same events again, for
 * the owners' own streams). JSON text holds no raw newline, so a receiver splits without
 * parsing, skips its own batches, and forwards the text as is.
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
  private owned = new Map<string, string[]>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private listenersTimer: ReturnType<typeof setInterval> | undefined;
  private localListening = false;
  private remoteListeners = 0;

  constructor(private readonly options: EventBusOptions) {}

  start(): void {
    const { subscriber, channel } = this.options;
    subscriber.on("message", (ch: string, message: string) => {
      if (ch === channel) this.receive(message);
      else if (ch === this.controlChannel) this.onListenerChange(message);
    });
    // Every instance hears when another gains its first or loses its last client, so it starts
    // (or stops) publishing within a round trip rather than at the next NUMSUB check.
    void subscriber.subscribe(this.controlChannel).catch(() => {});
    this.timer = setInterval(() => this.flush(), this.options.flushMs);
    this.listenersTimer = setInterval(() => void this.countRemoteListeners(), 1000);
    void this.countRemoteListeners();
  }

  /** Whether anyone, here or on another instance, would receive an event now. */
  get wanted(): boolean {
    return this.localListening || this.remoteListeners > 0;
  }

  /**
   * Called by the hub when its first client connects or its last one leaves. Resolves once the
   * other instances have been told (or Redis failed: local delivery works regardless).
   */
  async setLocalListening(listening: boolean): Promise<void> {
    if (listening === this.localListening) return;
    this.localListening = listening;
    const { subscriber, publisher, channel, node } = this.options;
    try {
      // ioredis queues these while disconnected and resubscribes after a reconnect.
      await (listening ? subscriber.subscribe(channel) : subscriber.unsubscribe(channel));
      await publisher.publish(this.controlChannel, `${node}\n${listening ? "on" : "off"}`);
    } catch {
      // Redis down: other instances find out at their next NUMSUB check.
    }
  }

  private get controlChannel(): string {
    return `${this.options.channel}:listeners`;
  }

  private onListenerChange(message: string): void {
    const [origin, state] = message.split("\n");
    if (origin === this.options.node) return;
    if (state === "on") this.remoteListeners = Math.max(this.remoteListeners, 1);
    void this.countRemoteListeners();
  }

  private async countRemoteListeners(): Promise<void> {
    try {
      const reply = (await this.options.publisher.call("PUBSUB", "NUMSUB", this.options.channel)) as [string, number];
      this.remoteListeners = Math.max(0, Number(reply[1]) - (this.localListening ? 1 : 0));
    } catch {
      this.remoteListeners = 0;
    }
  }

  emit(event: SerializedEvent): void {
    if (this.reads.length + this.writes.length >= this.options.maxPending) {
      this.options.onDrop(1);
      return;
    }
    (event.type === "read" ? this.reads : this.writes).push(event.json);
    if (event.owner !== null) {
      const list = this.owned.get(event.owner);
      if (list === undefined) this.owned.set(event.owner, [event.json]);
      else list.push(event.json);
    }
  }

  flush(): void {
    const count = this.reads.length + this.writes.length;
    if (count === 0) return;
    const reads = `[${this.reads.join(",")}]`;
    const writes = `[${this.writes.join(",")}]`;
    const readCount = this.reads.length;
    const writeCount = this.writes.length;
    const owned = [...this.owned].map(([owner, list]) => `${owner} ${list.length} [${list.join(",")}]`);
    this.reads = [];
    this.writes = [];
    this.owned = new Map();
    this.deliverLocally(batchOf(reads, writes, readCount, writeCount), owned);
    if (this.remoteListeners > 0) {
      const ownedLines = owned.length === 0 ? "" : `\n${owned.join("\n")}`;
      this.options.publisher.publish(this.options.channel, `${this.options.node} ${readCount} ${writeCount}\n${reads}\n${writes}${ownedLines}`).catch(() => this.options.onDrop(count));
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.listenersTimer) clearInterval(this.listenersTimer);
    this.timer = undefined;
    this.listenersTimer = undefined;
    this.flush();
  }

  private receive(message: string): void {
    const [header, reads, writes, ...owned] = message.split("\n");
    const [origin, readCount, writeCount] = (header ?? "").split(" ");
    if (origin === this.options.node || reads === undefined || writes === undefined) return;
    this.deliverLocally(batchOf(reads, writes, Number(readCount), Number(writeCount)), owned);
  }

  private deliverLocally(batch: EventBatch, owned: readonly string[]): void {
    const { local } = this.options;
    local.deliver("events", batch.events, batch.readCount + batch.writeCount);
    if (batch.readCount > 0) local.deliver("reads", batch.reads, batch.readCount);
    if (batch.writeCount > 0) local.deliver("writes", batch.writes, batch.writeCount);
    for (const line of owned) {
      const first = line.indexOf(" ");
      const second = line.indexOf(" ", first + 1);
      if (first > 0 && second > first) local.deliverOwned(line.slice(0, first), line.slice(second + 1), Number(line.slice(first + 1, second)));
    }
  }
}

function batchOf(reads: string, writes: string, readCount: number, writeCount: number): EventBatch {
  const events = readCount === 0 ? writes : writeCount === 0 ? reads : `${reads.slice(0, -1)},${writes.slice(1)}`;
  return { events, reads, writes, readCount, writeCount };
}
