import { cpuMs } from "./cpu";
import { BUN, lastJsonLine, startChild } from "./proc";
import type { WsClientReport } from "./ws-client";

export interface WsClientHandle {
  pid: number;
  /** Stops the client; the report carries the CPU ms the client process used. */
  stop(): Promise<WsClientReport & { cpu_ms: number }>;
}

/** What the dashboard in public/ holds (public/connection.js): the sampled feed, metrics and topology. */
export const DASHBOARD_TOPICS = "feed,metrics,topology";

/**
 * Starts bench/lib/ws-client.ts against `baseUrl` and waits until it is subscribed.
 *
 * @example const c = await connectWsClient(url, DASHBOARD_TOPICS); ...load...; const report = await c.stop();
 */
export async function connectWsClient(baseUrl: string, topics: string): Promise<WsClientHandle> {
  const wsUrl = `${baseUrl.replace(/^http/, "ws")}/ws`;
  const child = startChild(`ws client (${topics})`, [BUN, "bench/lib/ws-client.ts", "--url", wsUrl, "--topics", topics]);
  const deadline = Date.now() + 10_000;
  while (!child.stdout().includes("READY")) {
    if (child.proc.exitCode !== null || Date.now() > deadline) {
      await child.stop();
      throw new Error(`ws client did not subscribe to ${wsUrl}: ${child.stderr().slice(-1000)}`);
    }
    await Bun.sleep(20);
  }
  const cpu0 = cpuMs(child.proc.pid);
  return {
    pid: child.proc.pid,
    async stop() {
      const used = cpuMs(child.proc.pid) - cpu0;
      await child.stop();
      const report = lastJsonLine<WsClientReport>(child.stdout());
      if (!report) throw new Error(`ws client printed no report: ${child.stderr().slice(-1000)}`);
      return { ...report, cpu_ms: used };
    },
  };
}
