import type { EventTopic, LocalDelivery } from "./event-bus";
import { ownerTopic } from "./stream-access";

/** A connected, authorised stream client as the fan-out sees it (Bun topic names). */
export interface HubClient {
  topics: Set<string>;
  /** The API key the client connected with, if any: its sockets close when the key is revoked. */
  keyId: string | null;
  bufferedAmount(): number;
  close?(code: number, reason: string): void;
}

interface Publisher {
  publish(topic: string, data: string): number;
}

/**
 * Local fan-out over Bun's native pub/sub topics: batches of events, metrics and topology views
 * are published once per topic and Bun copies them to the subscribed sockets. Who may subscribe
 * to what is the gateway's business (ws-gateway.ts); the hub keeps the count of subscribers per
 * topic, so a topic nobody holds is never built or published, and tells the event bus when a
 * topic gains its first subscriber or loses its last (onTopicHeld), so that only what somebody
 * here holds is relayed from the other instances.
 *
 * A client whose socket buffer is over the limit misses batches (Bun drops them past
 * `backpressureLimit`); they are counted, and the client is never waited on.
 */
export class WsHub implements LocalDelivery {
  private readonly clients = new Map<string, HubClient>();
  private readonly subscribers = new Map<string, number>();
  private publisher: Publisher | null = null;
  private droppedBatches = 0;
  private droppedEvents = 0;

  constructor(private readonly maxBufferedBytes: number) {}

  attach(publisher: Publisher): void {
    this.publisher = publisher;
  }

  get clientCount(): number {
    return this.clients.size;
  }

  get drops(): { batches: number; events: number } {
    return { batches: this.droppedBatches, events: this.droppedEvents };
  }

  /** Told when a topic gains its first subscriber and when it loses its last. */
  onTopicHeld: ((topic: string, held: boolean) => Promise<void>) | undefined;

  /** Resolves when the client may be told it is subscribed (a topic new here waits for the bus). */
  register(id: string, client: HubClient): Promise<void> {
    this.clients.set(id, client);
    return Promise.all([...client.topics].map((topic) => this.count(topic, 1))).then(() => {});
  }

  unregister(id: string): void {
    const client = this.clients.get(id);
    if (client === undefined) return;
    this.clients.delete(id);
    for (const topic of client.topics) void this.count(topic, -1);
  }

  /** Resolves when the client may be told it is subscribed (a topic new here waits for the bus). */
  subscribe(id: string, topic: string): Promise<void> {
    const client = this.clients.get(id);
    if (client === undefined || client.topics.has(topic)) return Promise.resolve();
    client.topics.add(topic);
    return this.count(topic, 1);
  }

  unsubscribe(id: string, topic: string): void {
    const client = this.clients.get(id);
    if (client === undefined || !client.topics.delete(topic)) return;
    void this.count(topic, -1);
  }

  /** Closes every socket opened with one of these keys (1008: the key was revoked). */
  closeKeys(keyIds: readonly string[]): number {
    let closed = 0;
    for (const client of [...this.clients.values()]) {
      if (client.keyId !== null && keyIds.includes(client.keyId)) {
        client.close?.(1008, "API key revoked");
        closed++;
      }
    }
    return closed;
  }

  /** On shutdown: 1001 "going away" tells clients to reconnect (to another instance). */
  closeAll(): void {
    for (const client of this.clients.values()) client.close?.(1001, "server shutting down");
    this.clients.clear();
    for (const topic of this.subscribers.keys()) void this.onTopicHeld?.(topic, false);
    this.subscribers.clear();
  }

  /** `eventsJson` is called only when some subscriber can take the batch. */
  deliver(topic: EventTopic, eventsJson: () => string, count: number): void {
    this.publish(topic, count, () => `{"kind":"events","topic":"${topic}","events":${eventsJson()}}`);
  }

  /** The events of one key's links, to that key's `mine` subscribers. */
  deliverOwned(owner: string, eventsJson: () => string, count: number): void {
    this.publish(ownerTopic(owner), count, () => `{"kind":"events","topic":"mine","events":${eventsJson()}}`);
  }

  /** The live view's sample (`feed`): the latest events of each flush, and how many more went by. */
  deliverFeed(eventsJson: () => string, count: number, skipped: number): void {
    this.publish("feed", count, () => `{"kind":"events","topic":"feed","skipped":${skipped},"events":${eventsJson()}}`);
  }

  deliverMetrics(payload: object): void {
    this.publish("metrics", 0, () => JSON.stringify({ kind: "metrics", ...payload }));
  }

  /** Ring changes and re-sharding progress (`{"kind":"topology", ...}`, see topology/topology-view.ts). */
  deliverTopology(payload: { kind: "topology" }): void {
    this.publish("topology", 0, () => JSON.stringify(payload));
  }

  private count(topic: string, delta: number): Promise<void> {
    const n = (this.subscribers.get(topic) ?? 0) + delta;
    if (n > 0) this.subscribers.set(topic, n);
    else this.subscribers.delete(topic);
    const changed = delta > 0 ? n === 1 : n === 0;
    return changed && this.onTopicHeld ? this.onTopicHeld(topic, delta > 0) : Promise.resolve();
  }

  // A batch is as big as every event of the last flush, so it is made only for a topic somebody
  // holds and can take it. Bun drops a message for a socket already past backpressureLimit (the
  // rule is checked before the message is added): the hub counts those drops by the same rule,
  // and when every subscriber is past it the batch is not built at all (joining and wrapping a
  // batch cost ~1.6 µs an event, measured; a dashboard that falls behind would pay for nothing).
  private publish(topic: string, eventCount: number, data: () => string): void {
    if (this.publisher === null || !this.subscribers.has(topic)) return;
    let full = 0;
    let open = 0;
    for (const client of this.clients.values()) {
      if (!client.topics.has(topic)) continue;
      if (client.bufferedAmount() > this.maxBufferedBytes) full++;
      else open++;
    }
    this.droppedBatches += full;
    this.droppedEvents += full * eventCount;
    if (open > 0) this.publisher.publish(topic, data());
  }
}
