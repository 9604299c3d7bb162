import { parseConfig, type Config } from "../src/config";
import { compose, type Composed } from "../src/composition/server";
import { createLogger } from "../src/observability/logger";
import { clusterEnv } from "./cluster";

/**
 * The real service composed in-process against the test cluster (env from scripts/test.ts),
 * driven through its front door (`composed.fetch(new Request(...))`: request metrics included,
 * as in production). `peer` plays the TCP peer address.
 *
 * @example
 *   const sys = await startSystem({ RATE_LIMIT_ENABLED: "false" });
 *   const res = await sys.request("POST", "/create", { url: "https://example.com" });
 */
export interface TestSystem {
  config: Config;
  composed: Composed;
  request(method: string, path: string, body?: unknown, init?: { headers?: Record<string, string>; peer?: string; raw?: RequestInit["body"] }): Promise<Response>;
  close(): Promise<void>;
}

export const BASE = "http://localhost";

export async function startSystem(overrides: Record<string, string> = {}): Promise<TestSystem> {
  // Observability is open unless a test closes it (the access tests do): most tests watch the stream.
  const parsed = parseConfig({ LOG_LEVEL: "error", ID_BLOCK_SIZE: "512", ID_LOW_WATER: "256", OBSERVABILITY_PUBLIC: "true", ...clusterNodesEnv(), ...overrides });
  if (!parsed.ok) throw new Error(parsed.message);
  const peers = new WeakMap<Request, string>();
  const composed = await compose(parsed.config, createLogger(parsed.config.LOG_LEVEL), { peerAddress: (req) => peers.get(req) ?? "127.0.0.1" });
  await composed.start();
  return {
    config: parsed.config,
    composed,
    async request(method, path, body, init = {}) {
      const headers: Record<string, string> = { ...(body !== undefined && init.raw === undefined ? { "content-type": "application/json" } : {}), ...init.headers };
      const req = new Request(`${BASE}${path}`, { method, headers, body: init.raw ?? (body === undefined ? undefined : JSON.stringify(body)) });
      peers.set(req, init.peer ?? "127.0.0.1");
      return composed.fetch(req);
    },
    close: () => composed.close(),
  };
}

export function clusterNodesEnv(): { DATABASE_NODES: string; REDIS_NODES: string } {
  const { DATABASE_NODES, REDIS_NODES } = clusterEnv();
  return { DATABASE_NODES, REDIS_NODES };
}

/** The service's config for the test cluster's nodes, defaults otherwise (for keys, direct storage access). */
export function clusterConfig(): Config {
  const parsed = parseConfig(clusterNodesEnv());
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.config;
}

export function uniqueUrl(tag = "t"): string {
  return `https://example.com/${tag}/${crypto.randomUUID()}`;
}
