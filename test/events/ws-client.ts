/** A WebSocket test client that records every message it receives, and how the socket closed. */
export interface RecordingSocket {
  ws: WebSocket;
  messages: Array<Record<string, unknown>>;
  events(): Array<Record<string, unknown>>;
  /** Resolves with the close code and reason once the socket is closed (by either side). */
  closed: Promise<{ code: number; reason: string }>;
  /** The first message of this kind (already received, or the next to come). */
  next(kind: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  send(message: unknown): void;
  close(): void;
}

/** Opens a socket and records from the first message on; resolves once it is open. */
export async function open(url: string, init: { headers?: Record<string, string> } = {}): Promise<RecordingSocket> {
  // Bun's WebSocket takes headers (a browser's cannot): how a program authenticates on the upgrade.
  const ws = new WebSocket(url, init as never);
  const messages: Array<Record<string, unknown>> = [];
  const waiters: Array<() => void> = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.onclose = (e) => {
      resolve({ code: e.code, reason: e.reason });
      waiters.splice(0).forEach((w) => w());
    };
  });
  ws.onmessage = (m) => {
    messages.push(JSON.parse(String(m.data)));
    waiters.splice(0).forEach((w) => w());
  };
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error(`could not connect to ${url}`));
  });
  return {
    ws,
    messages,
    events: () => messages.filter((m) => m.kind === "events").flatMap((m) => m.events as Array<Record<string, unknown>>),
    closed,
    next(kind, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${kind} message within ${timeoutMs} ms; got ${JSON.stringify(messages).slice(0, 500)}`)), timeoutMs);
        const check = () => {
          const found = messages.find((m) => m.kind === kind);
          if (found) {
            clearTimeout(timer);
            resolve(found);
          } else if (ws.readyState >= WebSocket.CLOSING) {
            clearTimeout(timer);
            reject(new Error(`socket closed before a ${kind} message; got ${JSON.stringify(messages).slice(0, 500)}`));
          } else waiters.push(check);
        };
        check();
      });
    },
    send: (message) => ws.send(typeof message === "string" ? message : JSON.stringify(message)),
    close: () => ws.close(),
  };
}

/**
 * Connects and waits until the server says "subscribed" (once every instance knows this one has
 * a listener). With `auth`, answers the server's auth-required with `{"auth": key}` first.
 */
export async function connect(url: string, options: { auth?: string } = {}): Promise<RecordingSocket> {
  const socket = await open(url);
  if (options.auth !== undefined) {
    await socket.next("auth-required");
    socket.send({ auth: options.auth });
  }
  await socket.next("subscribed");
  return socket;
}
