import type { Server, ServerWebSocket, WebSocketHandler } from "bun";
import { AppError, type ErrorCode } from "../../errors";
import type { WsHub } from "../../events/ws-hub";
import { busTopic, defaultTopics, grant, STREAM_TOPICS, topicsParam, type StreamAccess, type StreamTopic } from "../../events/stream-access";
import { credentialOf } from "../keys/auth";
import { parseClientMessage } from "./client-message";
import type { ClientLimits } from "../../http/client-limits";

export interface HubSocketData {
  id: string;
  /** The client's address (behind a trusted proxy, the forwarded one): what the limits count. */
  address: string;
  /** null until the client authenticates (first message `{"auth":"<key>"}`). */
  access: StreamAccess | null;
  /** Topics asked for in the URL, granted once the client is authenticated. */
  requested: StreamTopic[] | null;
  topics: Set<StreamTopic>;
  /** Set at upgrade when the address is over its socket cap: the socket is closed on open. */
  refusal: string | null;
  /** A credential is being checked: a second one waits its turn (is refused). */
  authenticating: boolean;
  authTimer?: ReturnType<typeof setTimeout>;
  /** The last `subscribed` reply still to be sent: replies go out in the order asked. */
  lastReply?: Promise<void>;
}

export type Rejection = "connections" | "messages" | "size" | "auth";

export interface WsGatewayDeps {
  hub: WsHub;
  limits: ClientLimits;
  /** The client's address for the limits (trusted proxy rules applied). */
  clientAddress(request: Request): string;
  /** A credential's access; null when it is not one; throws when it cannot be checked now. */
  authenticate(credential: string): Promise<StreamAccess | null>;
  /** OBSERVABILITY_PUBLIC: a connection without a credential sees everything. */
  publicAccess: boolean;
  authTimeoutMs: number;
  maxMessageBytes: number;
  maxBufferedBytes: number;
}

/** Past this Bun itself closes the socket (1009) before our handler sees the message. */
const HARD_MAX_PAYLOAD = 1024 * 1024;

/**
 * The /ws endpoint. Protocol:
 * - connect to `/ws?topics=events,metrics` (default: events,metrics for admins, mine for ordinary keys);
 * - authenticate with `Authorization: Bearer <key>` on the upgrade request (programs), or with the
 *   first message `{"auth":"<key>"}` (browsers cannot set headers on a WebSocket). A key never goes
 *   in the URL: URLs end up in proxy and access logs. The server says `{"kind":"auth-required"}`
 *   on open and closes the socket with 1008 if no valid credential comes within WS_AUTH_TIMEOUT_MS;
 * - then `{"subscribe":[...]}` / `{"unsubscribe":[...]}`; the answer is `{"kind":"subscribed","topics":[...]}`,
 *   and a topic the key may not hold is refused with `{"kind":"error","error":{"code":"forbidden",...}}`.
 * Server messages: `{"kind":"events","topic":T,"events":[...]}`, `{"kind":"metrics",...}`, `{"kind":"topology",...}`.
 *
 * Limits per client address (ClientLimits): concurrent sockets (over the cap: accepted, then
 * closed with 1008), messages per second and message size (the offending socket is closed
 * with 1008). A revoked key's sockets are closed with 1008 (WsHub.closeKeys).
 *
 * Served by Bun directly rather than Elysia's .ws(): in Elysia 1.4 a `/:code` GET route shadows
 * a static WS route.
 */
/** Where the event stream is upgraded: a path of the front door, not an Elysia route. */
export const STREAM_PATH = "/ws";

export class WsGateway {
  private readonly rejected: Record<Rejection, number> = { connections: 0, messages: 0, size: 0, auth: 0 };
  /** Every open socket, authenticated or not: a shutdown closes them all (Bun's stop waits for them). */
  private readonly sockets = new Set<ServerWebSocket<HubSocketData>>();
  readonly handlers: WebSocketHandler<HubSocketData>;

  constructor(private readonly deps: WsGatewayDeps) {
    this.handlers = this.createHandlers();
  }

  /** Sockets refused or closed by a limit or for want of a credential, by reason (metrics). */
  get rejections(): Readonly<Record<Rejection, number>> {
    return this.rejected;
  }

  /** On shutdown: 1001 "going away" tells every client, even one still authenticating, to reconnect elsewhere. */
  closeAll(): void {
    this.deps.hub.closeAll();
    for (const ws of this.sockets) ws.close(1001, "server shutting down");
    this.sockets.clear();
  }

  /** Whether the request is a WebSocket upgrade of /ws (`path`: its path without the query). */
  isStreamRequest(request: Request, path: string): boolean {
    return path === STREAM_PATH && request.headers.get("upgrade")?.toLowerCase() === "websocket";
  }

  /** Upgrades a /ws request; an HTTP error response when a header credential is wrong or cannot be checked. */
  async upgrade(request: Request, server: Server<HubSocketData>): Promise<Response | undefined> {
    const credential = credentialOf(request);
    let access: StreamAccess | null = this.deps.publicAccess ? { everything: true, keyId: null } : null;
    if (credential !== null) {
      access = await this.deps.authenticate(credential);
      if (access === null) throw new AppError("unauthorized", "the credential is not valid (unknown or revoked key)", { headers: { "www-authenticate": "Bearer" } });
    }
    const address = this.deps.clientAddress(request);
    const admitted = this.deps.limits.admit(address);
    const data: HubSocketData = {
      id: crypto.randomUUID(),
      address,
      access,
      requested: topicsParam(new URL(request.url).searchParams.get("topics")),
      topics: new Set(),
      refusal: admitted ? null : `too many connections from this address (at most ${this.deps.limits.maxSockets})`,
      authenticating: false,
    };
    if (server.upgrade(request, { data })) return undefined;
    if (admitted) this.deps.limits.release(address);
    throw new AppError("invalid-body", "expected a WebSocket upgrade request");
  }

  private createHandlers(): WebSocketHandler<HubSocketData> {
    return {
      backpressureLimit: this.deps.maxBufferedBytes,
      closeOnBackpressureLimit: false,
      maxPayloadLength: HARD_MAX_PAYLOAD,
      idleTimeout: 120,
      sendPings: true,
      open: (ws) => {
        this.sockets.add(ws);
        if (ws.data.refusal !== null) {
          this.rejected.connections++;
          ws.close(1008, ws.data.refusal);
          return;
        }
        if (ws.data.access !== null) {
          void this.admit(ws, ws.data.access, ws.data.requested ?? defaultTopics(ws.data.access));
          return;
        }
        send(ws, { kind: "auth-required", message: `send {"auth":"<key>"} within ${this.deps.authTimeoutMs} ms; an admin key sees every link's events, an ordinary key its own (topic "mine")` });
        ws.data.authTimer = setTimeout(() => {
          if (ws.data.access !== null) return;
          this.rejected.auth++;
          ws.close(1008, "authentication required");
        }, this.deps.authTimeoutMs);
      },
      message: (ws, message) => this.onMessage(ws, message),
      close: (ws) => {
        this.sockets.delete(ws);
        clearTimeout(ws.data.authTimer);
        this.deps.hub.unregister(ws.data.id);
        if (ws.data.refusal === null) this.deps.limits.release(ws.data.address);
      },
    };
  }

  private onMessage(ws: ServerWebSocket<HubSocketData>, message: string | Buffer): void {
    const size = typeof message === "string" ? Buffer.byteLength(message) : message.byteLength;
    if (size > this.deps.maxMessageBytes) {
      this.rejected.size++;
      ws.close(1008, `message too large (at most ${this.deps.maxMessageBytes} bytes)`);
      return;
    }
    if (!this.deps.limits.allowMessage(ws.data.address)) {
      this.rejected.messages++;
      ws.close(1008, "too many messages from this address");
      return;
    }
    const request = parseClientMessage(typeof message === "string" ? message : message.toString());
    if (request?.kind === "auth") {
      void this.authenticate(ws, request.credential);
      return;
    }
    if (ws.data.access === null) {
      sendError(ws, "unauthorized", `authenticate first: send {"auth":"<key>"}`);
      return;
    }
    if (request === null) {
      sendError(ws, "invalid-message", `send {"subscribe":[...]} or {"unsubscribe":[...]} with topics from ${STREAM_TOPICS.join(", ")}`);
      return;
    }
    const subscribed = this.subscribe(ws, ws.data.access, request.subscribe);
    for (const topic of request.unsubscribe) {
      if (!ws.data.topics.delete(topic)) continue;
      const bus = busTopic(topic, ws.data.access);
      ws.unsubscribe(bus);
      this.deps.hub.unsubscribe(ws.data.id, bus);
    }
    const topics = [...ws.data.topics];
    ws.data.lastReply = Promise.all([ws.data.lastReply, subscribed]).then(() => {
      if (ws.readyState === 1) send(ws, { kind: "subscribed", topics });
    });
  }

  /**
   * `{"auth": ...}`: once per socket, except that in public mode an anonymous socket may add a
   * key (for its `mine` topic). A wrong key closes the socket with 1008.
   */
  private async authenticate(ws: ServerWebSocket<HubSocketData>, credential: string): Promise<void> {
    const before = ws.data.access;
    if (ws.data.authenticating || (before !== null && before.keyId !== null)) {
      sendError(ws, "invalid-message", "this socket is authenticated already");
      return;
    }
    ws.data.authenticating = true;
    let access: StreamAccess | null;
    try {
      access = await this.deps.authenticate(credential);
    } catch {
      ws.close(1011, "cannot check the key right now; reconnect and try again");
      return;
    } finally {
      ws.data.authenticating = false;
    }
    if (ws.readyState !== 1) return;
    if (access === null) {
      this.rejected.auth++;
      ws.close(1008, "invalid key (unknown or revoked)");
      return;
    }
    clearTimeout(ws.data.authTimer);
    const topics = before === null ? (ws.data.requested ?? defaultTopics(access)) : [...ws.data.topics];
    if (before !== null) {
      // Public mode: registered already without a key; registered again under the key, so
      // that its revocation closes this socket too.
      for (const topic of ws.data.topics) ws.unsubscribe(busTopic(topic, before));
      this.deps.hub.unregister(ws.data.id);
    }
    ws.data.access = access;
    send(ws, { kind: "authenticated", key: access.keyId, everything: access.everything });
    await this.admit(ws, access, topics);
  }

  /** Registers an authorised socket with the hub and grants the topics it asked for. */
  private async admit(ws: ServerWebSocket<HubSocketData>, access: StreamAccess, requested: readonly StreamTopic[]): Promise<void> {
    ws.data.topics = new Set();
    await this.deps.hub.register(ws.data.id, {
      topics: new Set(),
      keyId: access.keyId,
      bufferedAmount: () => ws.getBufferedAmount(),
      close: (code, reason) => ws.close(code, reason),
    });
    if (ws.readyState !== 1) return;
    await this.subscribe(ws, access, requested);
    if (ws.readyState === 1) send(ws, { kind: "subscribed", topics: [...ws.data.topics] });
  }

  /** Grants what the access allows; resolves once the event bus relays every granted topic here. */
  private subscribe(ws: ServerWebSocket<HubSocketData>, access: StreamAccess, topics: readonly StreamTopic[]): Promise<unknown> {
    const { granted, refused } = grant(access, topics);
    const relayed: Promise<void>[] = [];
    for (const topic of granted) {
      ws.data.topics.add(topic);
      const bus = busTopic(topic, access);
      ws.subscribe(bus);
      relayed.push(this.deps.hub.subscribe(ws.data.id, bus));
    }
    if (refused.length > 0) {
      sendError(ws, "forbidden", `not subscribed: ${refused.map((t) => `${t} needs ${t === "mine" ? "an API key" : "an admin key"}`).join("; ")}`);
    }
    return Promise.all(relayed);
  }
}

function send(ws: ServerWebSocket<HubSocketData>, message: object): void {
  ws.send(JSON.stringify(message));
}

/** The same `{code, message}` as an HTTP error body, with a code from the one table (src/errors.ts). */
function sendError(ws: ServerWebSocket<HubSocketData>, code: ErrorCode, message: string): void {
  send(ws, { kind: "error", error: { code, message } });
}
