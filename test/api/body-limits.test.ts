/**
 * Body limits on a real server (Bun.serve): ours, in JSON, are the ones that trip, because Bun's
 * own maxRequestBodySize (a bare 413, even after the handler has started reading) is set above
 * every limit of ours; and what Bun still answers by itself (431 for oversize headers).
 * Starts server processes: run with `npm test -- test/api/body-limits.test.ts`.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { makeKey } from "../support/keys";
import { startServer, type ServerProcess } from "../../harness/server-process";
import { clusterConfig } from "../../harness/system";

const MiB = 1024 * 1024;
const servers: ServerProcess[] = [];
afterAll(async () => {
  for (const s of servers) await s.stop();
});

/** `count` pieces of `piece`, then `tail`, as a chunked upload (no Content-Length). */
function upload(piece: Uint8Array, count: number, tail = new Uint8Array()): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent < count) controller.enqueue(piece);
      else if (sent === count) controller.enqueue(tail);
      else controller.close();
      sent++;
    },
  });
}

describe("body limits on a real server", () => {
  test("an import above Bun's default limit (128 MiB) but within IMPORT_MAX_BYTES is ours to answer", async () => {
    const server = await startServer({ RATE_LIMIT_ENABLED: "false", INSTANCE_ID: "27", IMPORT_MAX_BYTES: String(136 * MiB) });
    servers.push(server);
    const key = await makeKey(clusterConfig(), "big-import");
    // 130 lines of 1 MiB (each too long: one cheap invalid record) and one real link.
    const line = new Uint8Array(MiB).fill(0x20);
    line[MiB - 1] = 0x0a;
    const tail = new TextEncoder().encode(JSON.stringify({ url: `https://example.com/big/${crypto.randomUUID()}` }));
    const res = await fetch(`${server.url}/api/links/import`, { method: "POST", headers: { authorization: `Bearer ${key.text}`, "content-type": "application/x-ndjson" }, body: upload(line, 130, tail), duplex: "half" } as RequestInit);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ created: 1, invalid: 130 });
  }, 120_000);

  test("a streamed import past IMPORT_MAX_BYTES gets our JSON 413 with the summary, not Bun's bare one", async () => {
    const server = await startServer({ RATE_LIMIT_ENABLED: "false", INSTANCE_ID: "28", IMPORT_MAX_BYTES: "4096" });
    servers.push(server);
    const key = await makeKey(clusterConfig(), "over-import");
    const lines = Array.from({ length: 20 }, (_, i) => JSON.stringify({ url: `https://example.com/over/${crypto.randomUUID()}/${i}` }) + "\n").join("");
    // Far past both limits (ours 4 KiB, Bun's a few MiB): the client keeps sending after our answer.
    const res = await fetch(`${server.url}/api/links/import`, { method: "POST", headers: { authorization: `Bearer ${key.text}`, "content-type": "application/x-ndjson" }, body: upload(new TextEncoder().encode(lines), 2000), duplex: "half" } as RequestInit);
    expect(res.status).toBe(413);
    const body = (await res.json()) as any;
    expect(body.error.code).toBe("payload-too-large");
    expect(body.created).toBe(20);
    expect(body.stopped_at_line).toBe(body.created + body.duplicate + 1);
  }, 60_000);

  test("Bun answers oversize request headers (over 16 KiB) by itself: 431, no body", async () => {
    const server = servers[1]!;
    const res = await fetch(`${server.url}/health/live`, { headers: { "x-filler": "a".repeat(20 * 1024) } });
    expect(res.status).toBe(431);
    expect(await res.text()).toBe("");
  });
});
