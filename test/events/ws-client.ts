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
  ws.onmessage = (m) => messages.push(JSON.parse(String(m.data)));
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error(`could not connect to ${url}`));
  });
  return {
    ws,
    messages,
    events: () => messages.filter((m) => m.kind === "events").flatMap((m) => m.events as Array<Record<string, unknown>>),
    close: () => ws.close(),
  };
}
