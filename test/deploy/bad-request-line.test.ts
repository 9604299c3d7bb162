/**
 * Request lines that never reach the app: Bun's HTTP parser answers them itself (raw spaces or
 * control characters in the target, an unknown HTTP version). Behind the deployment's HAProxy
 * the client gets HAProxy's 400 instead, the request never reaches an instance, and the
 * instances stay ready. Both answers are recorded here (and in the README).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { startHaproxy, type HaproxyProcess } from "../../harness/haproxy";
import { startServer, type ServerProcess } from "../../harness/server-process";

let server: ServerProcess;
let lb: HaproxyProcess;
beforeAll(async () => {
  server = await startServer({ RATE_LIMIT_ENABLED: "false", INSTANCE_ID: "44" });
  lb = await startHaproxy([server.port]);
}, 60_000);
afterAll(async () => {
  await lb?.stop();
  await server?.stop();
});

/** The status line a raw request gets (or "" when the peer just closes). */
function rawStatus(port: number, requestLine: string): Promise<string> {
  return new Promise((resolve) => {
    let out = "";
    const socket = connect(port, "127.0.0.1", () => socket.write(`${requestLine}\r\nHost: x\r\nConnection: close\r\n\r\n`));
    const done = () => resolve(out.split("\r\n")[0] ?? "");
    socket.on("data", (d) => (out += d.toString("latin1")));
    socket.on("close", done);
    socket.on("error", done);
    setTimeout(() => socket.destroy(), 2000);
  });
}

const LINES = ["GET /a b HTTP/1.1", "GET /a\x01b HTTP/1.1", "GET /\x7f HTTP/1.1", "GET / HTTP/9.9", "NOT A REQUEST"];

describe("request lines the HTTP parser refuses", () => {
  test.each(LINES.slice(0, 3).concat(LINES[4]!))("%p: HAProxy answers 400 itself", async (line) => {
    expect(await rawStatus(lb.port, line)).toMatch(/^HTTP\/1\.[01] 400 /);
  });

  test("an unknown HTTP version is normalised by HAProxy and gets the app's own 4xx, not Bun's 505", async () => {
    expect(await rawStatus(lb.port, "GET /no.such.route HTTP/9.9")).toMatch(/^HTTP\/1\.[01] 4\d\d /);
  });

  test("straight to Bun they get Bun's own answer (recorded), and the server stays ready", async () => {
    const answers: Record<string, string> = {};
    for (const line of LINES) answers[JSON.stringify(line)] = await rawStatus(server.port, line);
    console.log(`Bun's own answers: ${JSON.stringify(answers)}`);
    for (const status of Object.values(answers)) expect(status === "" || /^HTTP\/1\.[01] [45]\d\d/.test(status)).toBe(true);
    expect((await fetch(`${server.url}/health/ready`)).status).toBe(200);
  });
});
