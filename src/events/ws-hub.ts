import { Elysia } from "elysia";
import type { EventTopic, LocalDelivery } from "./event-bus";
import type { LinkEvent } from "./event-schema";

export type Topic = EventTopic | "metrics";
export const TOPICS: readonly Topic[] = ["events", "reads", "writes", "metrics"];
const DEFAULT_TOPICS: readonly Topic[] = ["events", "metrics"];

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
 * `{"kind":"events","topic":T,"events":[...]}` and `{"kind":"metrics", ...}`.
 *
 * A client whose socket buffer is over the limit misses batches (Bun drops them past
 * `backpressureLimit`); they are counted, and the client is never waited on.
 */
export class WsHub implements LocalDelivery {
  private readonly clients = new Map<string, HubClient>();
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

  register(id: string, client: HubClient): void {
    this.clients.set(id, client);
  }

  /** On shutdown: 1001 "going away" tells clients to reconnect (to another instance). */
  closeAll(): void {
    for (const client of this.clients.values()) client.close?.(1001, "server shutting down");
    this.clients.clear();
  }

  deliver(topic: EventTopic, events: readonly LinkEvent[]): void {
    this.send(topic, JSON.stringify({ kind: "events", topic, events }), events.length);
  }

  deliverMetrics(payload: object): void {
    this.send("metrics", JSON.stringify({ kind: "metrics", ...payload }), 0);
  }

  private send(topic: Topic, data: string, eventCount: number): void {
    if (!this.publisher || this.clients.size === 0) return;
    for (const client of this.clients.values()) {
      if (client.topics.has(topic) && client.bufferedAmount() + data.length > this.maxBufferedBytes) {
        this.droppedBatches++;
        this.droppedEvents += eventCount;
      }
    }
    this.publisher.publish(topic, data);
  }

  plugin() {
    return new Elysia({ name: "ws", websocket: { backpressureLimit: this.maxBufferedBytes, closeOnBackpressureLimit: false, idleTimeout: 120, sendPings: true } }).ws("/ws", {
      open: (ws) => {
        const topics = parseTopics(new URL(ws.data.request.url).searchParams.get("topics")) ?? new Set(DEFAULT_TOPICS);
        this.register(ws.id, {
          topics,
          bufferedAmount: () => (ws.raw as unknown as { getBufferedAmount(): number }).getBufferedAmount(),
          close: (code, reason) => ws.close(code, reason),
        });
        for (const topic of topics) ws.subscribe(topic);
        ws.send(JSON.stringify({ kind: "subscribed", topics: [...topics] }));
      },
      message: (ws, message) => {
        const client = this.clients.get(ws.id);
        if (!client) return;
        const request = typeof message === "string" ? safeJson(message) : message;
        const subscribe = topicList((request as { subscribe?: unknown } | null)?.subscribe);
        const unsubscribe = topicList((request as { unsubscribe?: unknown } | null)?.unsubscribe);
        if (subscribe === null && unsubscribe === null) {
          ws.send(JSON.stringify({ kind: "error", error: { code: "invalid-message", message: `send {"subscribe":[...]} or {"unsubscribe":[...]} with topics from ${TOPICS.join(", ")}` } }));
          return;
        }
        for (const topic of subscribe ?? []) {
          client.topics.add(topic);
          ws.subscribe(topic);
        }
        for (const topic of unsubscribe ?? []) {
          client.topics.delete(topic);
          ws.unsubscribe(topic);
        }
        ws.send(JSON.stringify({ kind: "subscribed", topics: [...client.topics] }));
      },
      close: (ws) => {
        this.clients.delete(ws.id);
      },
    });
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
