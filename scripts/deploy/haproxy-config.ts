#!/usr/bin/env bun
/**
 * The one HAProxy template. The committed haproxy.cfg (compose topology: app1..app3 on :8080),
 * `bun scripts/multi.ts` (local instances on 127.0.0.1:<port>) and the deploy tests all render
 * their config here, so what the tests exercise is what compose ships.
 *
 *   bun scripts/deploy/haproxy-config.ts            rewrite haproxy.cfg from the template
 *   bun scripts/deploy/haproxy-config.ts --check    exit 1 when haproxy.cfg is out of date
 *
 * No import from src/: the edge config does not depend on the app's code.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";

export interface HaproxyServer {
  name: string;
  host: string;
  port: number;
}

export interface HealthCheckTiming {
  /** Interval between checks while the server is UP and healthy. */
  interMs: number;
  /** Interval once a check has failed (UP, going down): detection takes about inter + (fall-1) * fastinter. */
  fastinterMs: number;
  /** Interval while the server is DOWN: how soon a restarted instance is seen. */
  downinterMs: number;
  fall: number;
  rise: number;
}

export interface HaproxyConfigOptions {
  /** Client-facing listener, e.g. ":80" or "127.0.0.1:8080". */
  bind: string;
  servers: readonly HaproxyServer[];
  /** Stats page and /healthz; must be a loopback address (nothing outside the host sees it). */
  statsBind: string;
  check: HealthCheckTiming;
  /** Docker's embedded DNS (127.0.0.11:53): service names resolve at run time, so HAProxy starts even before an app container exists. */
  dnsResolver?: string | null;
  /** One log line per request (`option httplog`); otherwise only server state changes and errors. */
  accessLog: boolean;
  /** Comment lines at the top saying where this copy comes from. */
  origin: string;
  /** The HAProxy nodes that share the edge limits' stick table (`peers`), this one named `local`. */
  peers: EdgePeers;
}

export interface EdgePeers {
  local: string;
  all: readonly { name: string; address: string }[];
}

/**
 * Per-client limits at the edge, over a sliding 10 s window, as HAProxy environment variables
 * (`presetenv`: a value already in HAProxy's environment wins). The defaults sit above the app's
 * own budgets (RATE_LIMIT_REDIRECT_PER_MIN 6000 is 1,000 per 10 s; a 404 costs 20 tokens), so
 * the edge only turns away floods the app would refuse anyway, before they cost it anything.
 */
export const EDGE_LIMIT_DEFAULTS = { EDGE_REQUESTS_PER_10S: 3000, EDGE_ERRORS_PER_10S: 200 } as const;
export type EdgeLimits = { -readonly [K in keyof typeof EDGE_LIMIT_DEFAULTS]: number };
/** For HAProxies whose clients all share one address (local instances, tests, benchmarks). */
export const EDGE_LIMITS_OFF: EdgeLimits = { EDGE_REQUESTS_PER_10S: 1_000_000_000, EDGE_ERRORS_PER_10S: 1_000_000_000 };

export function edgeLimitsEnv(limits: EdgeLimits): Record<string, string> {
  return Object.fromEntries(Object.entries(limits).map(([k, v]) => [k, String(v)]));
}

const EDGE_PEER_PORT = 10000;

/** Names and addresses shared by docker-compose.yml, haproxy.cfg and the alignment test. */
export const COMPOSE_TOPOLOGY = {
  appServices: ["app1", "app2", "app3"],
  appPort: 8080,
  /** HAProxy's fixed address on the compose network; the apps trust X-Forwarded-For from it only. */
  haproxyIp: "172.28.0.10",
  subnet: "172.28.0.0/24",
  httpBind: ":80",
  statsBind: "127.0.0.1:8404",
  peerName: "haproxy",
} as const;

export const COMPOSE_CHECK: HealthCheckTiming = { interMs: 1000, fastinterMs: 500, downinterMs: 1000, fall: 2, rise: 2 };

export const BACKEND = "app";
export const STATS_URI = "/stats";
export const HEALTHZ_URI = "/healthz";

/** The compose topology's config: exactly the text of the committed haproxy.cfg. */
export function composeHaproxyConfig(): string {
  const t = COMPOSE_TOPOLOGY;
  return renderHaproxyConfig({
    bind: t.httpBind,
    servers: t.appServices.map((name) => ({ name, host: name, port: t.appPort })),
    statsBind: t.statsBind,
    check: COMPOSE_CHECK,
    dnsResolver: "127.0.0.11:53",
    accessLog: true,
    origin: "compose topology (app1..app3:8080); regenerate with `bun scripts/deploy/haproxy-config.ts`",
    peers: { local: t.peerName, all: [{ name: t.peerName, address: `${t.haproxyIp}:${EDGE_PEER_PORT}` }] },
  });
}

/** Local instances on loopback (scripts/multi.ts, harness/haproxy.ts). */
export function localHaproxyConfig(options: { port: number; statsPort: number; instancePorts: readonly number[]; check?: HealthCheckTiming; accessLog?: boolean; peers: EdgePeers }): string {
  return renderHaproxyConfig({
    bind: `127.0.0.1:${options.port}`,
    servers: options.instancePorts.map((port) => ({ name: `app-${port}`, host: "127.0.0.1", port })),
    statsBind: `127.0.0.1:${options.statsPort}`,
    check: options.check ?? COMPOSE_CHECK,
    dnsResolver: null,
    accessLog: options.accessLog ?? false,
    origin: "local instances; generated at run time, not committed",
    peers: options.peers,
  });
}

export function renderHaproxyConfig(o: HaproxyConfigOptions): string {
  if (o.servers.length === 0) throw new Error("haproxy config: no servers");
  if (!/^127\.\d+\.\d+\.\d+:\d+$/.test(o.statsBind)) throw new Error(`haproxy config: stats must bind to loopback, got ${o.statsBind}`);
  const names = new Set(o.servers.map((s) => s.name));
  if (names.size !== o.servers.length) throw new Error("haproxy config: server names must be unique");
  if (!o.peers.all.some((p) => p.name === o.peers.local)) throw new Error(`haproxy config: the local peer ${o.peers.local} is not among the peers`);
  const c = o.check;
  const resolvers = o.dnsResolver ? " resolvers docker init-addr last,libc,none" : "";
  const lines = [
    "# Shorten edge: HAProxy load-balancing HTTP and WebSockets over the app instances.",
    "# GENERATED from the template in scripts/deploy/haproxy-config.ts; do not edit by hand.",
    `# Variant: ${o.origin}.`,
    "",
    "global",
    `    log stdout format raw local0 ${o.accessLog ? "info" : "notice"}`,
    "    maxconn 4096",
    "    # A soft stop (SIGUSR1, the image's stop signal) waits for open WebSocket tunnels; bound it.",
    "    hard-stop-after 10s",
    "    # http-request normalize-uri (frontend http) is still flagged experimental in HAProxy 2.6 and 2.8.",
    "    expose-experimental-directives",
    "    # Edge limits per client address; set them in HAProxy's environment to change them.",
    ...Object.entries(EDGE_LIMIT_DEFAULTS).map(([name, value]) => `    presetenv ${name} ${value}`),
    `    localpeer ${o.peers.local}`,
    "",
    "defaults",
    "    mode http",
    "    log global",
    ...(o.accessLog ? ["    option httplog", "    option dontlognull"] : []),
    "    timeout connect 2s",
    "    timeout client 30s",
    "    timeout server 30s",
    "    timeout http-request 10s",
    "    timeout http-keep-alive 10s",
    "    timeout queue 5s",
    "    timeout check 2s",
    "    # After a WebSocket upgrade (101) the connection is a tunnel: this replaces client/server",
    "    # timeouts for it. The app pings idle sockets, so only dead tunnels reach it.",
    "    timeout tunnel 1h",
    "    timeout client-fin 5s",
    "    # A failed connection, a connection closed without a response, or a response that never",
    "    # came is retried, on another server each time (redispatch 1). An instance killed mid-request",
    "    # therefore costs the client latency, not an error. Caveat: a POST /create that reached the",
    "    # dead instance before it died may run twice; the extra row is an unused code, never a wrong one.",
    "    retries 3",
    "    option redispatch 1",
    "    retry-on conn-failure empty-response response-timeout",
    "",
    ...(o.dnsResolver
      ? [
          "# Docker's embedded DNS: app containers may start (or be recreated with a new address) after HAProxy.",
          "resolvers docker",
          `    nameserver dns ${o.dnsResolver}`,
          "    hold valid 10s",
          "    hold nx 2s",
          "",
        ]
      : []),
    "# Every HAProxy node pushes its stick-table updates to the others, so a client's rates follow",
    "# it across the edge (each node replaces an entry with the latest value it hears: approximate).",
    "peers edge",
    ...o.peers.all.map((p) => `    peer ${p.name} ${p.address}`),
    "",
    "# One entry per client address: its request rate and its error rate (4xx answers other than",
    "# 401/407, and malformed requests), over 10 s. 404 probing for codes shows up as the latter.",
    "backend edge_clients",
    "    stick-table type ipv6 size 500k expire 30s store http_req_rate(10s),http_err_rate(10s) peers edge",
    "",
    "frontend http",
    `    bind ${o.bind}`,
    "    # Floods stop here, before they cost an app instance anything; a client's own budgets",
    "    # (per route, per key, in Redis) are the app's. Denied requests still count towards the rate.",
    "    http-request track-sc0 src table edge_clients",
    `    http-request deny deny_status 429 content-type application/json hdr Retry-After 10 string '{"error":{"code":"rate-limited","message":"too many requests from this address; retry in 10 s"}}' if { sc_http_req_rate(0) gt "\${EDGE_REQUESTS_PER_10S}" }`,
    `    http-request deny deny_status 429 content-type application/json hdr Retry-After 10 string '{"error":{"code":"rate-limited","message":"too many failed requests from this address; retry in 10 s"}}' if { sc_http_err_rate(0) gt "\${EDGE_ERRORS_PER_10S}" }`,
    "    # X-Forwarded-For gets the address HAProxy saw. The app believes it only from HAProxy",
    "    # (TRUSTED_PROXIES) and takes the right-most untrusted hop, so a client-sent XFF is ignored.",
    "    option forwardfor",
    "    # Rules below match the path the app will route on, and that is also the path forwarded.",
    "    # Bun resolves dot segments, percent-encoded ones too (/api/%2e%2e/metrics is /metrics), and",
    "    # reads a backslash as a slash (/a\\..\\metrics); no HAProxy normaliser does the latter, so a",
    "    # raw backslash (never sent by browsers, which convert it) is refused.",
    "    http-request deny deny_status 400 if { path_sub \\\\ }",
    "    http-request normalize-uri percent-decode-unreserved",
    "    # Single dots before double ones: /a/./../metrics is /metrics, not /a/metrics.",
    "    http-request normalize-uri path-strip-dot",
    "    http-request normalize-uri path-strip-dotdot full",
    "    http-request normalize-uri path-merge-slashes",
    "    # Prometheus scrapes each instance's METRICS_PORT inside the network; the edge never serves /metrics.",
    `    http-request return status 404 content-type application/json string '{"error":{"code":"route-not-found","message":"no such route"}}' if { path -i /metrics /metrics/ }`,
    `    default_backend ${BACKEND}`,
    "",
    `backend ${BACKEND}`,
    "    balance roundrobin",
    "    # /health/ready is 503 while an instance starts or drains (SIGTERM), so it leaves the",
    "    # rotation before it stops listening: SHUTDOWN_DRAIN_MS must exceed inter + (fall-1) * fastinter.",
    "    option httpchk",
    "    http-check send meth GET uri /health/ready ver HTTP/1.1 hdr Host haproxy-check",
    "    http-check expect status 200",
    `    default-server check inter ${c.interMs}ms fastinter ${c.fastinterMs}ms downinter ${c.downinterMs}ms fall ${c.fall} rise ${c.rise}${resolvers}`,
    ...o.servers.map((s) => `    server ${s.name} ${s.host}:${s.port}`),
    "",
    "# Loopback only: reach it from the host running HAProxy (in compose: docker-compose exec haproxy ...).",
    "listen stats",
    `    bind ${o.statsBind}`,
    "    stats enable",
    `    stats uri ${STATS_URI}`,
    "    stats refresh 5s",
    "    stats show-legends",
    "    # 200 while at least one app instance is UP: the container healthcheck and scripts/multi.ts wait on it.",
    `    monitor-uri ${HEALTHZ_URI}`,
    `    monitor fail if { nbsrv(${BACKEND}) lt 1 }`,
    "",
  ];
  return lines.join("\n");
}

export const COMMITTED_CFG = resolve(import.meta.dir, "../../haproxy.cfg");

if (import.meta.main) {
  const text = composeHaproxyConfig();
  if (Bun.argv.includes("--check")) {
    let current = "";
    try {
      current = readFileSync(COMMITTED_CFG, "utf8");
    } catch {
      // missing counts as stale
    }
    if (current !== text) {
      console.error("haproxy.cfg is out of date: run `bun scripts/deploy/haproxy-config.ts`");
      process.exit(1);
    }
    console.log("haproxy.cfg matches the template");
  } else {
    writeFileSync(COMMITTED_CFG, text);
    console.log(`wrote ${COMMITTED_CFG}`);
  }
}
