import { startHaproxy as startSharedHaproxy } from "../../harness/haproxy";
import { onCleanup } from "./cleanup";

export interface Edge {
  url: string;
  stop(): Promise<void>;
}

/**
 * HAProxy in front of `ports`, through harness/haproxy.ts (the project's one config
 * template, scripts/deploy/haproxy-config.ts, the same text compose ships), so the benchmark
 * measures the edge that is deployed. Registered for teardown.
 *
 * @example const edge = await startHaproxy([8081, 8082], "ours"); fetch(`${edge.url}/health/ready`)
 */
export async function startHaproxy(ports: readonly number[], label: string): Promise<Edge> {
  const lb = await startSharedHaproxy(ports);
  const undo = onCleanup(`haproxy (${label})`, () => lb.stop());
  return { url: lb.url, stop: undo };
}
