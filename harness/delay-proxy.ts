import type { Socket, TCPSocketListener } from "bun";

/**
 * A TCP proxy on loopback that holds every byte a node sends back for `delayMs` (while `delayMs`
 * is above 0): a slow link to one node, for latency tests. This kernel has no `sch_netem`
 * (`tc qdisc add … netem` answers "Specified qdisc kind is unknown"), so the delay is added in
 * user space; the node, the client library and the sockets on both sides are real.
 *
 * @example
 *   const proxy = await startDelayProxy(6379);   // redis://127.0.0.1:${proxy.port}
 *   proxy.delayMs = 200; …; proxy.delayMs = 0; proxy.stop();
 */
export interface DelayProxy {
  port: number;
  delayMs: number;
  stop(): void;
}

interface Pair {
  upstream: Socket<Pair> | null;
  client: Socket<Pair>;
  /** Bytes from the client before the upstream connection is open. */
  pending: Uint8Array[];
  /** Bytes a socket did not take yet (a write may take part of a buffer): sent on `drain`, in order. */
  toClient: Uint8Array[];
  toUpstream: Uint8Array[];
}

function send(socket: Socket<Pair>, queue: Uint8Array[], bytes: Uint8Array): void {
  if (queue.length === 0) {
    const n = socket.write(bytes);
    if (n >= bytes.length) return;
    bytes = bytes.subarray(Math.max(0, n));
  }
  queue.push(bytes);
}

function flush(socket: Socket<Pair>, queue: Uint8Array[]): void {
  while (queue.length > 0) {
    const bytes = queue[0]!;
    const n = socket.write(bytes);
    if (n < bytes.length) {
      queue[0] = bytes.subarray(Math.max(0, n));
      return;
    }
    queue.shift();
  }
}

export async function startDelayProxy(targetPort: number): Promise<DelayProxy> {
  const proxy: DelayProxy = { port: 0, delayMs: 0, stop: () => {} };
  const listener: TCPSocketListener<Pair> = Bun.listen<Pair>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      async open(client) {
        const pair: Pair = { upstream: null, client, pending: [], toClient: [], toUpstream: [] };
        client.data = pair;
        try {
          pair.upstream = await Bun.connect<Pair>({
            hostname: "127.0.0.1",
            port: targetPort,
            data: pair,
            socket: {
              data(_up, bytes) {
                const copy = new Uint8Array(bytes);
                if (proxy.delayMs > 0) setTimeout(() => send(pair.client, pair.toClient, copy), proxy.delayMs);
                else send(pair.client, pair.toClient, copy);
              },
              drain(up) {
                flush(up, pair.toUpstream);
              },
              close() {
                pair.client.end();
              },
              error() {
                pair.client.end();
              },
            },
          });
          for (const chunk of pair.pending) send(pair.upstream, pair.toUpstream, chunk);
          pair.pending = [];
        } catch {
          client.end();
        }
      },
      data(client, bytes) {
        const pair = client.data;
        if (pair.upstream) send(pair.upstream, pair.toUpstream, new Uint8Array(bytes));
        else pair.pending.push(new Uint8Array(bytes));
      },
      drain(client) {
        flush(client, client.data.toClient);
      },
      close(client) {
        client.data?.upstream?.end();
      },
      error(client) {
        client.data?.upstream?.end();
      },
    },
  });
  proxy.port = listener.port;
  proxy.stop = () => listener.stop(true);
  return proxy;
}
