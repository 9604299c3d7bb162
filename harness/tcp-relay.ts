import type { Socket, TCPSocketListener } from "bun";

/**
 * A TCP relay on loopback in front of one real node, for a fault that only one client sees: the
 * client is configured with the relay's port, and `cut()` drops every connection through it and
 * stops listening, so that client's calls fail as they would across a partition while the node
 * (shared with every other test) stays up.
 *
 * @example
 *   const relay = await tcpRelay(5432);
 *   const url = `postgres://postgres@127.0.0.1:${relay.port}/shorten`;
 *   relay.cut();
 */
export interface TcpRelay {
  port: number;
  cut(): void;
  /** Stops taking new connections; those open stay, as when a node's listener dies before its sessions. */
  refuseNew(): void;
}

/** `peer` is null until the upstream connection opens; `out` holds what this socket could not take yet. */
type Side = { peer: Socket<Side> | null; early: Uint8Array[]; out: Uint8Array[] };

function send(to: Socket<Side>, data: Uint8Array): void {
  if (to.data.out.length > 0) {
    to.data.out.push(data.slice());
    return;
  }
  const written = to.write(data);
  if (written < data.length) to.data.out.push(data.slice(Math.max(0, written)));
}

function drain(socket: Socket<Side>): void {
  while (socket.data.out.length > 0) {
    const chunk = socket.data.out[0]!;
    const written = socket.write(chunk);
    if (written < chunk.length) {
      socket.data.out[0] = chunk.slice(Math.max(0, written));
      return;
    }
    socket.data.out.shift();
  }
}

export async function tcpRelay(targetPort: number, targetHost = "127.0.0.1"): Promise<TcpRelay> {
  const open = new Set<Socket<Side>>();
  const listener: TCPSocketListener<Side> = Bun.listen<Side>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      async open(client) {
        client.data = { peer: null, early: [], out: [] };
        open.add(client);
        try {
          const upstream = await Bun.connect<Side>({
            hostname: targetHost,
            port: targetPort,
            socket: {
              open(s) {
                s.data = { peer: client, early: [], out: [] };
                open.add(s);
              },
              data: (s, data) => send(client, data),
              drain,
              close: () => void client.end(),
              error: () => void client.end(),
            },
          });
          client.data.peer = upstream;
          for (const chunk of client.data.early.splice(0)) send(upstream, chunk);
        } catch {
          client.end();
        }
      },
      data(client, data) {
        if (client.data.peer) send(client.data.peer, data);
        else client.data.early.push(data.slice());
      },
      drain,
      close: (client) => void client.data.peer?.end(),
      error: (client) => void client.data.peer?.end(),
    },
  });
  return {
    port: listener.port,
    refuseNew() {
      listener.stop(false);
    },
    cut() {
      listener.stop(true);
      for (const socket of open) socket.terminate();
      open.clear();
    },
  };
}
