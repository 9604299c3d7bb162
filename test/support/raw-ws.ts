import net from "node:net";

export interface Frame {
  opcode: number;
  text: string;
  /** For a close frame (opcode 8): its status code. */
  code?: number;
}

export interface RawSocket {
  /** The upgrade response's status (101 when upgraded). */
  status: number;
  frames: Frame[];
  next(match: (frame: Frame) => boolean, timeoutMs?: number): Promise<Frame>;
  send(text: string): void;
  close(): void;
}

/**
 * A WebSocket client on a raw TCP socket, so a test can choose its source address
 * (`localAddress: "127.0.0.9"`: another client, as far as the server can tell) — neither Bun's
 * nor the browser's WebSocket can. Sends masked text frames; reads unfragmented server frames.
 *
 * @example const s = await rawWebSocket({ port, localAddress: "127.0.0.9", headers: { authorization: `Bearer ${key}` } });
 */
export function rawWebSocket(opts: { port: number; host?: string; localAddress?: string; path?: string; headers?: Record<string, string> }): Promise<RawSocket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: opts.host ?? "127.0.0.1", port: opts.port, localAddress: opts.localAddress });
    const frames: Frame[] = [];
    const waiters: Array<() => void> = [];
    let buffer = Buffer.alloc(0);
    let status = 0;
    const wake = () => waiters.splice(0).forEach((w) => w());
    const api: RawSocket = {
      get status() {
        return status;
      },
      frames,
      next(match, timeoutMs = 5000) {
        return new Promise((ok, fail) => {
          const timer = setTimeout(() => fail(new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(frames)}`)), timeoutMs);
          const check = () => {
            const found = frames.find(match);
            if (found) {
              clearTimeout(timer);
              ok(found);
            } else waiters.push(check);
          };
          check();
        });
      },
      send(text) {
        socket.write(maskedFrame(Buffer.from(text)));
      },
      close() {
        socket.destroy();
      },
    };
    socket.once("error", reject);
    socket.once("connect", () => {
      const headers = { host: `127.0.0.1:${opts.port}`, upgrade: "websocket", connection: "Upgrade", "sec-websocket-key": btoa("0123456789abcdef"), "sec-websocket-version": "13", ...opts.headers };
      socket.write(`GET ${opts.path ?? "/ws"} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("")}\r\n`);
    });
    socket.on("data", (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (status === 0) {
        const end = buffer.indexOf("\r\n\r\n");
        if (end < 0) return;
        status = Number(buffer.subarray(0, end).toString().split(" ")[1]);
        buffer = buffer.subarray(end + 4);
        resolve(api);
        if (status !== 101) return;
      }
      for (;;) {
        const frame = readFrame(buffer);
        if (frame === null) break;
        frames.push(frame.frame);
        buffer = buffer.subarray(frame.length);
      }
      wake();
    });
    socket.on("close", () => {
      if (status === 0) reject(new Error("connection closed before the upgrade answer"));
      wake();
    });
  });
}

function readFrame(buf: Buffer): { frame: Frame; length: number } | null {
  if (buf.length < 2) return null;
  const opcode = buf[0]! & 0x0f;
  let len = buf[1]! & 0x7f;
  let offset = 2;
  if (len === 126) {
    if (buf.length < 4) return null;
    len = buf.readUInt16BE(2);
    offset = 4;
  } else if (len === 127) {
    if (buf.length < 10) return null;
    len = Number(buf.readBigUInt64BE(2));
    offset = 10;
  }
  if (buf.length < offset + len) return null;
  const payload = buf.subarray(offset, offset + len);
  const frame: Frame = opcode === 8 && len >= 2 ? { opcode, code: payload.readUInt16BE(0), text: payload.subarray(2).toString() } : { opcode, text: payload.toString() };
  return { frame, length: offset + len };
}

function maskedFrame(payload: Buffer): Buffer {
  const mask = Buffer.from([1, 2, 3, 4]);
  const head = payload.length < 126 ? Buffer.from([0x81, 0x80 | payload.length]) : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
  const body = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
  return Buffer.concat([head, mask, body]);
}
