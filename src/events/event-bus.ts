import type Redis from "ioredis";
import type { SerializedEvent } from "./event-factory";
import { RecentSample } from "./recent-sample";
import { OWNER_TOPIC_PREFIX } from "./stream-access";

export type EventTopic = "events" | "reads" | "writes";

/** A batch as JSON array texts, each made when first asked for: all events, then the reads and the writes among them. */
export interface EventBatch {
  events: () => string;
  reads: () => string;
  writes: () => string;
  readCount: number;
  writeCount: number;
}

/** Where a batch of events is delivered on this instance (the WebSocket hub). */
export interface LocalDelivery {
  /** `eventsJson` makes the JSON array text; it is called only if a client takes the batch. */
  deliver(topic: EventTopic, eventsJson: () => string, count: number): void;
  /** The events of one owner's links, for that owner's stream. */
  deliverOwned(owner: string, eventsJson: () => string, count: number): void;
  /** The live view's sample of an instance's events: `count` of them, `skipped` more went by. */
  deliverFeed(eventsJson: () => string, count: number, skipped: number): void;
}

export interface EventBusOptions {
  node: string;
  channel: string;
  flushMs: number;
  /** Events held between flushes at most; past it new events are dropped and counted. */
  maxPending: number;
  /** The `feed` topic's share of each flush: this many of the latest events at most. */
  feedSize: number;
  publisher: Redis;
  subscriber: Redis;
  local: LocalDelivery;
  onDrop: (count: number) => void;
}

/** What this instance's bus has relayed between instances, for /metrics. */
export interface BusTraffic {
  /** Batches of every link's events sent to / received from the other instances. */
  allSent: number;
  allReceived: number;
  /** One owner's events sent to / received from the other instances. */
  ownedSent: number;
  ownedReceived: number;
}

/**
 * Shares events across instances through Redis pub/sub, batched: emit() only appends to an
 * array, and every `flushMs` the batch is published once. Own events are delivered locally at
 * flush time; remote batches are delivered as they arrive, so every client sees every
 * instance's events and no request ever waits on the stream.
 *
 * Only what somebody holds travels. There is a channel for every link's events (`channel`,
 * behind the `events`, `reads` and `writes` topics), one for the live view's sample
 * (`channel:feed`, the latest `feedSize` events of each flush) and one per owner
 * (`channel:owner:<keyId>`, behind that key's `mine`). An instance subscribes to a channel while one of its WebSocket
 * clients holds a topic behind it (the hub says when: setTopicHeld), and publishes to it while
 * another instance does (PUBSUB NUMSUB and CHANNELS every second, and an announcement on the
 * control channel at every change, so a new listener is heard within a round trip). An instance
 * whose clients watch only their own links therefore never receives the whole stream, and one
 * nobody watches receives nothing. The price: a client that connects to an instance nobody was
 * watching sees the other instances' events from the next announcement on.
 *
 * Wire format: on `channel`, `origin readCount writeCount \n readsJson \n writesJson` (the
 * `events` topic lists the reads before the writes); on the feed's, `origin count skipped \n
 * eventsJson`; on an owner's channel, `origin count eventsJson`. JSON text holds no raw newline, so a receiver splits without parsing, skips its
 * own batches, and forwards the text as is.
 *
 * @example
 *   const bus = new EventBus({ node: "instance-0", channel: "shorten:events", flushMs: 50, ... });
 *   bus.start();
 *   hub.onTopicHeld = (topic, held) => bus.setTopicHeld(topic, held);
 *   bus.emit(factory.read(outcome, hits, misses));
 */
export class EventBus {
  private reads: string[] = [];
  private writes: string[] = [];
  private owned = new Map<string, string[]>();
  private readonly feed: RecentSample<SerializedEvent | (() => SerializedEvent)>;
  private readonly feedChannel: string;
  private timer: ReturnType<typeof setInterval> | undefined;
  private listenersTimer: ReturnType<typeof setInterval> | undefined;
  /** Redis channel → how many local hub topics behind it have subscribers. */
  private readonly held = new Map<string, number>();
  private remoteAll = 0;
  private remoteFeed = 0;
  private remoteOwners = new Set<string>();
  private readonly counts: BusTraffic = { allSent: 0, allReceived: 0, ownedSent: 0, ownedReceived: 0 };

  constructor(private readonly options: EventBusOptions) {
    this.feed = new RecentSample(options.feedSize);
    this.feedChannel = `${options.channel}:feed`;
  }

  start(): void {
    const { subscriber } = this.options;
    subscriber.on("message", (ch: string, message: string) => {
      if (ch === this.options.channel) this.receiveAll(message);
      else if (ch === this.feedChannel) this.receiveFeed(message);
      else if (ch.startsWith(this.ownerPrefix)) this.receiveOwned(ch.slice(this.ownerPrefix.length), message);
      else if (ch === this.controlChannel) this.onListenerChange(message);
    });
    void subscriber.subscribe(this.controlChannel).catch(() => {});
    this.timer = setInterval(() => this.flush(), this.options.flushMs);
    this.listenersTimer = setInterval(() => void this.countRemoteListeners(), 1000);
    void this.countRemoteListeners();
  }

  /** Whether anyone, here or on another instance, would receive every event (emit each one). */
  get wanted(): boolean {
    return this.held.size > (this.held.has(this.feedChannel) ? 1 : 0) || this.remoteAll > 0 || this.remoteOwners.size > 0;
  }

  /** Whether the feed is held anywhere; asked once `wanted` is false, when offer() replaces emit(). */
  get feedWanted(): boolean {
    return this.held.has(this.feedChannel) || this.remoteFeed > 0;
  }

  private get allWanted(): boolean {
    return this.held.has(this.options.channel) || this.remoteAll > 0;
  }

  get traffic(): BusTraffic {
    return { ...this.counts };
  }

  /**
   * Called by the hub when a topic gains its first local subscriber or loses its last. Resolves
   * once the channel behind it is subscribed and the other instances told (or Redis failed:
   * local delivery works regardless), so a client told it is subscribed misses nothing after.
   */
  async setTopicHeld(topic: string, held: boolean): Promise<void> {
    const channel = this.channelOf(topic);
    if (channel === null) return;
    const n = (this.held.get(channel) ?? 0) + (held ? 1 : -1);
    if (n > 0) this.held.set(channel, n);
    else this.held.delete(channel);
    if (n !== (held ? 1 : 0)) return;
    const { subscriber, publisher, node } = this.options;
    try {
      // ioredis queues these while disconnected and resubscribes after a reconnect.
      await (held ? subscriber.subscribe(channel) : subscriber.unsubscribe(channel));
      await publisher.publish(this.controlChannel, `${node}\n${channel}\n${held ? "on" : "off"}`);
    } catch {
      // Redis down: other instances find out at their next count.
    }
  }

  private channelOf(topic: string): string | null {
    if (topic === "events" || topic === "reads" || topic === "writes") return this.options.channel;
    if (topic === "feed") return this.feedChannel;
    if (topic.startsWith(OWNER_TOPIC_PREFIX)) return this.ownerPrefix + topic.slice(OWNER_TOPIC_PREFIX.length);
    return null;
  }

  private get controlChannel(): string {
    return `${this.options.channel}:listeners`;
  }

  private get ownerPrefix(): string {
    return `${this.options.channel}:owner:`;
  }

  private onListenerChange(message: string): void {
    const [origin, channel, state] = message.split("\n");
    if (origin === this.options.node || channel === undefined) return;
    if (state === "on") {
      if (channel === this.options.channel) this.remoteAll = Math.max(this.remoteAll, 1);
      else if (channel === this.feedChannel) this.remoteFeed = Math.max(this.remoteFeed, 1);
      else if (channel.startsWith(this.ownerPrefix)) this.remoteOwners.add(channel.slice(this.ownerPrefix.length));
    }
    void this.countRemoteListeners();
  }

  private async countRemoteListeners(): Promise<void> {
    const { publisher, channel } = this.options;
    try {
      const ownerChannels = (await publisher.call("PUBSUB", "CHANNELS", `${this.ownerPrefix}*`)) as string[];
      const reply = (await publisher.call("PUBSUB", "NUMSUB", channel, this.feedChannel, ...ownerChannels)) as Array<string | number>;
      const remote = (i: number) => Number(reply[2 * i + 1]) - (this.held.has(String(reply[2 * i])) ? 1 : 0);
      this.remoteAll = Math.max(0, remote(0));
      this.remoteFeed = Math.max(0, remote(1));
      this.remoteOwners = new Set(ownerChannels.filter((_, i) => remote(i + 2) > 0).map((c) => c.slice(this.ownerPrefix.length)));
    } catch {
      this.remoteAll = 0;
      this.remoteFeed = 0;
      this.remoteOwners = new Set();
    }
  }

  /** An event nobody may need in full: kept only if it is among the feed's latest at the flush. */
  offer(make: () => SerializedEvent): void {
    this.feed.offer(make);
  }

  /** `live`: also a candidate for the feed (enriched clicks are not: the live view lists requests). */
  emit(event: SerializedEvent, live = true): void {
    if (live) this.feed.offer(event);
    if (this.reads.length + this.writes.length >= this.options.maxPending) {
      this.options.onDrop(1);
      return;
    }
    if (this.allWanted) (event.type === "read" ? this.reads : this.writes).push(event.json);
    if (event.owner !== null) {
      const list = this.owned.get(event.owner);
      if (list === undefined) this.owned.set(event.owner, [event.json]);
      else list.push(event.json);
    }
  }

  flush(): void {
    this.flushFeed();
    const count = this.reads.length + this.writes.length;
    if (count === 0 && this.owned.size === 0) return;
    const readList = this.reads;
    const writeList = this.writes;
    const owned = this.owned;
    this.reads = [];
    this.writes = [];
    this.owned = new Map();
    const { local, publisher, channel, node, onDrop } = this.options;
    // Joined only when somebody takes them: a batch is a string of every event since the last flush.
    const batch = lazyBatch(once(() => `[${readList.join(",")}]`), once(() => `[${writeList.join(",")}]`), readList.length, writeList.length);
    this.deliverAll(batch);
    if (this.remoteAll > 0) {
      this.counts.allSent++;
      publisher.publish(channel, `${node} ${readList.length} ${writeList.length}\n${batch.reads()}\n${batch.writes()}`).catch(() => onDrop(count));
    }
    for (const [owner, list] of owned) {
      const json = once(() => `[${list.join(",")}]`);
      local.deliverOwned(owner, json, list.length);
      if (!this.remoteOwners.has(owner)) continue;
      this.counts.ownedSent++;
      publisher.publish(this.ownerPrefix + owner, `${node} ${list.length} ${json()}`).catch(() => onDrop(list.length));
    }
  }

  private flushFeed(): void {
    const { items, seen } = this.feed.take();
    if (seen === 0) return;
    const json = once(() => `[${items.map((item) => (typeof item === "function" ? item() : item).json).join(",")}]`);
    this.options.local.deliverFeed(json, items.length, seen - items.length);
    if (this.remoteFeed === 0) return;
    this.options.publisher.publish(this.feedChannel, `${this.options.node} ${items.length} ${seen - items.length}\n${json()}`).catch(() => {});
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.listenersTimer) clearInterval(this.listenersTimer);
    this.timer = undefined;
    this.listenersTimer = undefined;
    this.flush();
  }

  private receiveAll(message: string): void {
    const [header, reads, writes] = message.split("\n");
    const [origin, readCount, writeCount] = (header ?? "").split(" ");
    if (origin === this.options.node || reads === undefined || writes === undefined) return;
    this.counts.allReceived++;
    this.deliverAll(lazyBatch(() => reads, () => writes, Number(readCount), Number(writeCount)));
  }

  private receiveFeed(message: string): void {
    const newline = message.indexOf("\n");
    const [origin, count, skipped] = message.slice(0, Math.max(0, newline)).split(" ");
    if (newline < 0 || origin === this.options.node) return;
    this.options.local.deliverFeed(() => message.slice(newline + 1), Number(count), Number(skipped));
  }

  private receiveOwned(owner: string, message: string): void {
    const first = message.indexOf(" ");
    const second = message.indexOf(" ", first + 1);
    if (first <= 0 || second <= first || message.slice(0, first) === this.options.node) return;
    this.counts.ownedReceived++;
    this.options.local.deliverOwned(owner, () => message.slice(second + 1), Number(message.slice(first + 1, second)));
  }

  private deliverAll(batch: EventBatch): void {
    const { local } = this.options;
    local.deliver("events", batch.events, batch.readCount + batch.writeCount);
    if (batch.readCount > 0) local.deliver("reads", batch.reads, batch.readCount);
    if (batch.writeCount > 0) local.deliver("writes", batch.writes, batch.writeCount);
  }
}

function lazyBatch(reads: () => string, writes: () => string, readCount: number, writeCount: number): EventBatch {
  const events = readCount === 0 ? writes : writeCount === 0 ? reads : once(() => `${reads().slice(0, -1)},${writes().slice(1)}`);
  return { events, reads, writes, readCount, writeCount };
}

function once(make: () => string): () => string {
  let made: string | undefined;
  return () => (made ??= make());
}
