import { afterAll, beforeAll, expect, test } from "bun:test";
import { connect as tcpConnect, type Socket } from "node:net";
import { eventually, startServer, type ServerProcess } from "../../harness/server-process";
import { uniqueUrl } from "../../harness/system";
import { connect } from "./ws-client";

/**
 * A client that stops reading (its socket is paused, so its TCP window fills) must not slow
 * requests or grow the server's memory: past WS_MAX_BUFFERED_BYTES its batches are dropped and
 * counted, while a healthy client keeps receiving.
 */
let server: ServerProcess;
let stalled: Socket;

beforeAll(async () => {
  server = await startServer({ RATE_LIMIT_ENABLED: "false", WS_MAX_BUFFERED_BYTES: "16384", EVENT_FLUSH_MS: "10", INSTANCE_ID: "21" });
});
afterAll(async () => {
  stalled?.destroy();
  await server?.stop();
});

function stalledClient(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(port, "127.0.0.1", () => {
      socket.write(
        "GET /ws?topics=events HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
      );
    });
    socket.once("data", (chunk) => {
      if (!chunk.toString().startsWith("HTTP/1.1 101")) return reject(new Error(`no upgrade: ${chunk}`));
      // Never read again: the kernel buffers fill and the server sees backpressure.
      socket.pause();
      resolve(socket);
    });
    socket.once("error", reject);
  });
}

async function dropsReported(): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith('shorten_event_drops{unit="events"}'));
  return Number(line?.split(" ")[1] ?? "NaN");
}

test("a stalled WebSocket client loses batches (counted) and nobody waits for it", async () => {
  stalled = await stalledClient(server.port);
  const healthy = await connect(`ws://127.0.0.1:${server.port}/ws?topics=events`);
  try {
    const res = await fetch(`${server.url}/create`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ url: uniqueUrl("drop") }) });
    const code = ((await res.json()) as { short_code: string }).short_code;
    let failures = 0;
    let sent = 0;
    const deadline = Date.now() + 30_000;
    // Bounded load: enough reads to fill the stalled socket's kernel buffers and our limit.
    while (Date.now() < deadline && sent < 60_000) {
      const batch = await Promise.all(Array.from({ length: 200 }, () => fetch(`${server.url}/${code}`, { redirect: "manual" }).then((r) => r.status)));
      sent += batch.length;
      failures += batch.filter((s) => s !== 302).length;
      if (sent % 4000 === 0 && (await dropsReported()) > 0) break;
    }
    expect(failures).toBe(0);
    expect(await dropsReported()).toBeGreaterThan(0);
    // The healthy client saw the latest events despite the stalled one.
    const marker = await fetch(`${server.url}/zzzzzzzzzz`);
    expect(marker.status).toBe(404);
    await eventually(() => healthy.events().find((e) => e.short_code === "zzzzzzzzzz"), "healthy client still receives", 10_000);
  } finally {
    healthy.close();
  }
});
