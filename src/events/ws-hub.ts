import type { Server, WebSocketHandler } from "bun";
import type { EventTopic, LocalDelivery } from "./event-bus";

export type Topic = EventTopic | "metrics" | "topology";
export const TOPICS: readonly Topic[] = ["events", "reads", "writes", "metrics", "topology"];
const DEFAULT_TOPICS: readonly Topic[] = ["events", "metrics"];

export interface HubSocketData {
  id: string;
  topics: Set<Topic>;
}

export interface HubClient {
  topics: Set<Topic>;
  bufferedAmount(): number;
  close?(code: number, reason: string): void;
}

interface Publisher {
  publish(topic: string, data: string): number;
}

/**
 * The /ws endpoint and local fan-out over Bun's native pub/sub topics. Protocol:
 * connect to `/ws?topics=reads,metrics` (default: events,metrics), then optionally send
 * `{"subscribe": ["writes"]}` or `{"unsubscribe": ["events"]}`; the server answers
 * `{"kind":"subscribed","topics":[...]}`. Server messages are
 * `{"kind":"events","topic":T,"events":[...]}`, `{"kind":"metrics", ...}` and, on the
 * `topology` topic, `{"kind":"topology", ...}` (ring changes and re-sharding progress).
 *
 * A client whose socket buffer is over the limit misses batches (Bun drops them past
 * `backpressureLimit`); they are counted, and the client is never waited on.
 */
export class WsHub implements LocalDelivery {
  private readonly clients = new Map<string, HubClient>();
  private publisher: Publisher | null = null;
  private droppedBatches = 0;
  private droppedEvents = 0;

  /** Bun's websocket handlers for the server that calls upgrade(). */
  readonly handlers: WebSocketHandler<HubSocketData>;

  constructor(private readonly maxBufferedBytes: number) {
    this.handlers = this.createHandlers();
  }

  attach(publisher: Publisher): void {
    this.publisher = publisher;
  }

  get clientCount(): number {
    return this.clients.size;
  }

  get drops(): { batches: number; events: number } {
    return { batches: this.droppedBatches, events: this.droppedEvents };
  }

  /** Resolves when the client may be told it is subscribed (the first one waits for the bus). */
  register(id: string, client: HubClient): Promise<void> {
    this.clients.set(id, client);
    return this.clients.size === 1 && this.onListening ? this.onListening(true) : Promise.resolve();
  }

  private unregister(id: string): void {
    if (this.clients.delete(id) && this.clients.size === 0) void this.onListening?.(false);
  }

  /** Told when the first client connects and when the last one leaves. */
  onListening: ((listening: boolean) => Promise<void>) | undefined;

  /** On shutdown: 1001 "going away" tells clients to reconnect (to another instance). */
  closeAll(): void {
    for (const client of this.clients.values()) client.close?.(1001, "server shutting down");
    this.clients.clear();
    void this.onListening?.(false);
  }

  deliver(topic: EventTopic, eventsJson: string, count: number): void {
    if (!this.hasSubscriber(topic)) return;
    this.send(topic, `{"kind":"events","topic":"${topic}","events":${eventsJson}}`, count);
  }

  deliverMetrics(payload: object): void {
    if (!this.hasSubscriber("metrics")) return;
    this.send("metrics", JSON.stringify({ kind: "metrics", ...payload }), 0);
  }

  /** Ring changes and re-sharding progress (`{"kind":"topology", ...}`, see topology/topology-view.ts). */
  deliverTopology(payload: { kind: "topology" }): void {
    if (!this.hasSubscriber("topology")) return;
    this.send("topology", JSON.stringify(payload), 0);
  }

  // A batch is as big as every event of the last flush; publishing it to a topic nobody holds
  // would still build and encode it (a dashboard holds events, so reads and writes go unread).
  private hasSubscriber(topic: Topic): boolean {
    if (!this.publisher) return false;
    for (const client of this.clients.values()) if (client.topics.has(topic)) return true;
    return false;
  }

  private send(topic: Topic, data: string, eventCount: number): void {
    if (!this.publisher) return;
    for (const client of this.clients.values()) {
      if (client.topics.has(topic) && client.bufferedAmount() + data.length > this.maxBufferedBytes) {
        this.droppedBatches++;
        this.droppedEvents += eventCount;
      }
    }
    this.publisher.publish(topic, data);
  }

  /**
   * Upgrades GET /ws requests; returns true when the request was taken. Served by Bun directly
   * rather than Elysia's .ws(): in Elysia 1.4 a `/:code` GET route shadows a static WS route.
   */
  upgrade(request: Request, server: Server<HubSocketData>): boolean {
    // Runs before every request: compare the path as a string before touching headers or URL.
    const raw = request.url;
    const pathStart = raw.indexOf("/", raw.indexOf("//") + 2);
    if (raw.slice(pathStart, pathStart + 3) !== "/ws" || (raw.length > pathStart + 3 && raw[pathStart + 3] !== "?")) return false;
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") return false;
    const url = new URL(raw);
    const topics = parseTopics(url.searchParams.get("topics")) ?? new Set(DEFAULT_TOPICS);
    return server.upgrade(request, { data: { id: crypto.randomUUID(), topics } });
  }

  private createHandlers(): WebSocketHandler<HubSocketData> {
    return {
      backpressureLimit: this.maxBufferedBytes,
      closeOnBackpressureLimit: false,
      idleTimeout: 120,
      sendPings: true,
      open: (ws) => {
        for (const topic of ws.data.topics) ws.subscribe(topic);
        const client = { topics: ws.data.topics, bufferedAmount: () => ws.getBufferedAmount(), close: (code: number, reason: string) => ws.close(code, reason) };
        void this.register(ws.data.id, client).then(() => ws.send(JSON.stringify({ kind: "subscribed", topics: [...ws.data.topics] })));
      },
      message: (ws, message) => {
        const request = safeJson(typeof message === "string" ? message : message.toString());
        const subscribe = topicList((request as { subscribe?: unknown } | null)?.subscribe);
        const unsubscribe = topicList((request as { unsubscribe?: unknown } | null)?.unsubscribe);
        if (subscribe === null && unsubscribe === null) {
          ws.send(
            JSON.stringify({
              kind: "error",
              error: { code: "invalid-message", message: `send {"subscribe":[...]} or {"unsubscribe":[...]} with topics from ${TOPICS.join(", ")}` },
            }),
          );
          return;
        }
        for (const topic of subscribe ?? []) {
          ws.data.topics.add(topic);
          ws.subscribe(topic);
        }
        for (const topic of unsubscribe ?? []) {
          ws.data.topics.delete(topic);
          ws.unsubscribe(topic);
        }
        ws.send(JSON.stringify({ kind: "subscribed", topics: [...ws.data.topics] }));
      },
      close: (ws) => {
        this.unregister(ws.data.id);
      },
    };
  }
}

function parseTopics(raw: string | null): Set<Topic> | null {
  if (raw === null || raw.trim() === "") return null;
  const list = topicList(raw.split(",").map((s) => s.trim()));
  return list === null || list.length === 0 ? null : new Set(list);
}

function topicList(value: unknown): Topic[] | null {
  if (!Array.isArray(value)) return null;
  const topics = value.filter((t): t is Topic => typeof t === "string" && (TOPICS as readonly string[]).includes(t));
  return topics.length === value.length ? topics : null;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
