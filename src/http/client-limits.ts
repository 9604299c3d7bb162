/**
 * Per client address limits on the event stream: concurrent sockets, and messages per second
 * (a one-second window). In memory, per instance: behind HAProxy with N instances a client may
 * hold up to N x the cap in all, which bounds each instance's fan-out work, the thing the cap
 * protects. Pure apart from the injected clock; an address's entries go when its last socket does.
 *
 * @example
 *   const limits = new ClientLimits({ maxSockets: 20, messagesPerSecond: 10 });
 *   if (!limits.admit("203.0.113.7")) refuse();
 *   if (!limits.allowMessage("203.0.113.7")) close(1008);
 *   limits.release("203.0.113.7");
 */
export class ClientLimits {
  private readonly sockets = new Map<string, number>();
  private readonly windows = new Map<string, { second: number; count: number }>();

  constructor(
    private readonly limits: { maxSockets: number; messagesPerSecond: number },
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes a socket slot for the address; false (and nothing taken) when it holds the cap already. */
  admit(address: string): boolean {
    const held = this.sockets.get(address) ?? 0;
    if (held >= this.limits.maxSockets) return false;
    this.sockets.set(address, held + 1);
    return true;
  }

  release(address: string): void {
    const held = (this.sockets.get(address) ?? 0) - 1;
    if (held > 0) {
      this.sockets.set(address, held);
      return;
    }
    this.sockets.delete(address);
    this.windows.delete(address);
  }

  /** Counts one message from the address; false once it is over the per-second limit. */
  allowMessage(address: string): boolean {
    const second = Math.floor(this.now() / 1000);
    const window = this.windows.get(address);
    if (window === undefined || window.second !== second) {
      this.windows.set(address, { second, count: 1 });
      return this.limits.messagesPerSecond >= 1;
    }
    window.count++;
    return window.count <= this.limits.messagesPerSecond;
  }

  get maxSockets(): number {
    return this.limits.maxSockets;
  }

  socketsOf(address: string): number {
    return this.sockets.get(address) ?? 0;
  }

  /** Addresses holding at least one socket (memory held by the limiter). */
  get addresses(): number {
    return this.sockets.size;
  }
}
