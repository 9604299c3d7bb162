import { connect } from "node:net";

export interface RawResponse {
  /** 0 when the peer closed without a status line. */
  status: number;
  /** Header names lower-cased; the last value wins. */
  headers: Map<string, string>;
  body: string;
}

/**
 * One HTTP/1.x request written byte for byte on a fresh loopback connection (fetch would
 * normalise the target and always send a Host), read until the peer closes. `host: null` sends
 * no Host header at all; `from` picks the loopback source address (a client of its own).
 *
 * @example await rawRequest(port, { target: "/./metrics", host: "x" })
 * @example await rawRequest(port, { method: "POST", target: "/create", version: "HTTP/1.0", host: null, body: "{}" })
 */
export function rawRequest(
  port: number,
  r: { method?: string; target: string; version?: string; host?: string | null; headers?: Record<string, string>; body?: string; timeoutMs?: number; from?: string },
): Promise<RawResponse> {
  const lines = [`${r.method ?? "GET"} ${r.target} ${r.version ?? "HTTP/1.1"}`];
  if (r.host !== null) lines.push(`Host: ${r.host ?? "shorten.test"}`);
  for (const [name, value] of Object.entries(r.headers ?? {})) lines.push(`${name}: ${value}`);
  if (r.body !== undefined) lines.push(`Content-Length: ${Buffer.byteLength(r.body)}`);
  lines.push("Connection: close");
  const request = `${lines.join("\r\n")}\r\n\r\n${r.body ?? ""}`;
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = connect({ port, host: "127.0.0.1", localAddress: r.from }, () => socket.write(request));
    const timer = setTimeout(() => socket.destroy(), r.timeoutMs ?? 5000);
    socket.on("data", (d: Buffer) => chunks.push(d));
    socket.on("error", () => socket.destroy());
    socket.on("close", () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString("latin1");
      const split = text.indexOf("\r\n\r\n");
      const head = (split < 0 ? text : text.slice(0, split)).split("\r\n");
      const headers = new Map<string, string>();
      for (const line of head.slice(1)) {
        const colon = line.indexOf(":");
        if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      }
      resolve({ status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(head[0] ?? "")?.[1] ?? 0), headers, body: split < 0 ? "" : text.slice(split + 4) });
    });
  });
}
