/** A WebSocket test client that records every message it receives. */
export interface RecordingSocket {
  ws: WebSocket;
  messages: Array<Record<string, unknown>>;
  events(): Array<Record<string, unknown>>;
  close(): void;
}

export async function connect(url: string): Promise<RecordingSocket> {
  const ws = new WebSocket(url);
  const messages: Array<Record<string, unknown>> = [];
  // The server says "subscribed" once every instance knows this one has a listener.
  await new Promise<void>((resolve, reject) => {
    ws.onmessage = (m) => {
      const message = JSON.parse(String(m.data));
      messages.push(message);
      if (message.kind === "subscribed") {
        ws.onmessage = (next) => messages.push(JSON.parse(String(next.data)));
        resolve();
      }
    };
    ws.onerror = () => reject(new Error(`could not connect to ${url}`));
  });
  return {
    ws,
    messages,
    events: () => messages.filter((m) => m.kind === "events").flatMap((m) => m.events as Array<Record<string, unknown>>),
    close: () => ws.close(),
  };
}
