/**
 * docker-compose.yml, haproxy.cfg, the Dockerfile and the app's env contract must agree: a
 * renamed service, a moved port or a missing replica breaks the deployment without breaking any
 * unit test, so this file checks the files against each other (YAML parsed with the `yaml`
 * package, haproxy.cfg validated by the real haproxy binary).
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { hostsOf, parseConfig, splitUrls } from "../../src/config";
import { MONITOR_SETTINGS, NETWORK_PARTITION_TIMEOUT_S } from "../../scripts/cluster/ha-engine";
import { COMPOSE_CHECK, COMPOSE_TOPOLOGY, COMMITTED_CFG, composeHaproxyConfig } from "../../scripts/deploy/haproxy-config";
import { checkHaproxyConfig } from "../../scripts/deploy/haproxy-runtime";

const ROOT = join(import.meta.dir, "../..");

interface Service {
  image?: string;
  build?: unknown;
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, string | number> | string[];
  healthcheck?: { test?: string | string[] };
  depends_on?: Record<string, { condition: string }> | string[];
  networks?: Record<string, { ipv4_address?: string } | null> | string[];
  ports?: string[];
  volumes?: string[];
}
interface ComposeFile {
  services: Record<string, Service>;
  networks: Record<string, { ipam?: { config?: Array<{ subnet?: string; ip_range?: string }> } }>;
  volumes: Record<string, unknown>;
}

/** Compose's own interpolation for what this file uses: ${VAR:-default} takes the default, $$ is a literal $. */
function interpolate(text: string): string {
  return text.replace(/\$\$|\$\{([A-Z0-9_]+)(?::?-([^}]*))?\}/g, (match, _name, fallback) => (match === "$$" ? "$" : (fallback ?? "")));
}

const composeText = readFileSync(join(ROOT, "docker-compose.yml"), "utf8");
const compose = parse(interpolate(composeText), { merge: true }) as ComposeFile;
const services = compose.services;
const haproxyCfg = readFileSync(COMMITTED_CFG, "utf8");

const envOf = (s: Service): Record<string, string> => {
  if (Array.isArray(s.environment)) return Object.fromEntries(s.environment.map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
  return Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, String(v)]));
};
const script = (s: Service): string => [s.entrypoint, s.command].flat().filter((x) => x !== undefined).join(" ");
// The app's image is built from the repository root; the PostgreSQL image (with hll) from deploy/postgres.
const isApp = (s: { build?: unknown }) => s.build === "." || (typeof s.build === "object" && s.build !== null && (s.build as { context?: string }).context === ".");
const appServices = Object.entries(services).filter(([, s]) => isApp(s));
const hostPort = (url: string) => {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port) };
};

/** `server NAME HOST:PORT ...` lines of the app backend. */
function backendServers(cfg: string): Array<{ name: string; host: string; port: number }> {
  const section = cfg.split(/^backend app$/m)[1]?.split(/^\S/m)[0] ?? "";
  return [...section.matchAll(/^\s+server (\S+) ([^:\s]+):(\d+)/gm)].map((m) => ({ name: m[1]!, host: m[2]!, port: Number(m[3]) }));
}

describe("haproxy.cfg", () => {
  test("is exactly the template's render for the compose topology", () => {
    expect(haproxyCfg).toBe(composeHaproxyConfig());
  });

  test("is accepted by the real haproxy (names resolve only inside compose)", () => {
    const output = checkHaproxyConfig(COMMITTED_CFG);
    expect(output).toContain("Configuration file is valid");
    const warnings = output.split("\n").filter((l) => l.includes("[WARNING]"));
    for (const w of warnings) expect(w).toMatch(/could not resolve address 'app\d'/);
  });

  test("has the health checks, retries, WebSocket tunnel timeout, forwardfor and a loopback-only stats page", () => {
    expect(haproxyCfg).toMatch(/http-check send meth GET uri \/health\/ready /);
    expect(haproxyCfg).toMatch(/default-server check inter 1000ms .* fall 2 rise 2/);
    expect(haproxyCfg).toMatch(/^\s+timeout tunnel \S+/m);
    expect(haproxyCfg).toMatch(/^\s+retries [1-9]/m);
    expect(haproxyCfg).toMatch(/^\s+option redispatch/m);
    expect(haproxyCfg).toMatch(/^\s+retry-on conn-failure empty-response response-timeout$/m);
    expect(haproxyCfg).toMatch(/^\s+option forwardfor$/m);
    const statsSection = haproxyCfg.split(/^listen stats$/m)[1]!;
    expect(statsSection).toMatch(/^\s+bind 127\.0\.0\.1:\d+$/m);
    expect(statsSection).toContain("stats enable");
    // Only the stats listener binds loopback; only the frontend binds publicly.
    expect([...haproxyCfg.matchAll(/^\s+bind (\S+)/gm)].map((m) => m[1])).toEqual([COMPOSE_TOPOLOGY.httpBind, COMPOSE_TOPOLOGY.statsBind]);
  });
});

describe("docker-compose.yml against haproxy.cfg and the app env", () => {
  test("every haproxy backend server is an app service on its PORT, and every app service is a server", () => {
    const servers = backendServers(haproxyCfg);
    expect(servers.length).toBe(COMPOSE_TOPOLOGY.appServices.length);
    for (const s of servers) {
      const svc = services[s.host];
      expect(svc, `haproxy server ${s.name} -> ${s.host} is not a compose service`).toBeDefined();
      expect(isApp(svc!), `${s.host} is not an app service`).toBe(true);
      expect(envOf(svc!).PORT).toBe(String(s.port));
    }
    expect(servers.map((s) => s.host).sort()).toEqual(appServices.map(([name]) => name).sort());
  });

  test("each app env parses with the app's own config schema and names only compose services", () => {
    expect(appServices.length).toBe(3);
    for (const [name, svc] of appServices) {
      const env = envOf(svc);
      const parsed = parseConfig(env);
      expect(parsed.ok ? "ok" : parsed.message, name).toBe("ok");
      const db = splitUrls(env.DATABASE_NODES!);
      const redis = env.REDIS_NODES!.split(",");
      expect(db.length, `${name}: DB entries = 2 x Redis nodes`).toBe(2 * redis.length);
      for (const url of redis) {
        const { host, port } = hostPort(url);
        expect(services[host], `${name}: redis host ${host}`).toBeDefined();
        expect(services[host]!.image).toMatch(/^redis:/);
        expect(port).toBe(6379);
      }
      for (const [host, port] of db.flatMap((url) => hostsOf(url)!.hosts.map((h) => h.split(":") as [string, string]))) {
        expect(services[host], `${name}: db host ${host}`).toBeDefined();
        // PostgreSQL 15 with the hll extension, built from deploy/postgres.
        expect([services[host]!.image, services[host]!.build]).toEqual(["shorten-postgres:15", "deploy/postgres"]);
        expect(readFileSync(join(ROOT, "deploy/postgres/Dockerfile"), "utf8")).toMatch(/FROM postgres:15[\s\S]*apt-get install[^\n]*postgresql-15-hll/);
        expect(Number(port)).toBe(5432);
      }
    }
  });

  test("each shard's two entries name the same pair of nodes under pg_auto_failover: the writer asks for read-write, the reader prefers the standby", () => {
    const db = splitUrls(envOf(appServices[0]![1]).DATABASE_NODES!);
    const pairs: string[][] = [];
    for (let i = 0; i < db.length; i += 2) {
      const writer = hostsOf(db[i]!)!;
      const reader = hostsOf(db[i + 1]!)!;
      expect(writer.hosts).toEqual(reader.hosts);
      expect(writer.hosts.length).toBe(2);
      expect(db[i]).toContain("target_session_attrs=read-write");
      expect(db[i + 1]).toContain("target_session_attrs=prefer-standby");
      const names = writer.hosts.map((h) => h.split(":")[0]!);
      pairs.push(names);
      const formations = names.map((n) => envOf(services[n]!).FORMATION);
      // Both nodes of the pair in their shard's formation, named as the engine knows them.
      expect(formations).toEqual([`shard${i / 2}`, `shard${i / 2}`]);
      for (const n of names) {
        expect(envOf(services[n]!).NODE_NAME).toBe(n);
        expect(script(services[n]!)).toBe("node");
        expect((services[n]!.depends_on as Record<string, { condition: string }>).monitor?.condition).toBe("service_healthy");
      }
    }
    expect(script(services.monitor!)).toBe("monitor");
    // Every PostgreSQL service is the monitor or one of the app's nodes: no stray, unmanaged database.
    const postgresServices = Object.entries(services).filter(([, s]) => s.image?.startsWith("shorten-postgres") || s.image?.startsWith("postgres")).map(([n]) => n);
    expect(postgresServices.sort()).toEqual(["monitor", ...pairs.flat()].sort());
  });

  test("the image's entry point creates nodes with the engine and the local cluster's failover timings", () => {
    const entry = readFileSync(join(ROOT, "deploy/postgres/pg-auto-failover.sh"), "utf8");
    expect(readFileSync(join(ROOT, "deploy/postgres/Dockerfile"), "utf8")).toMatch(/apt-get install[^\n]*postgresql-15-auto-failover pg-auto-failover-cli[\s\S]*ENTRYPOINT \["\/usr\/local\/bin\/pg-auto-failover.sh"\]/);
    expect(entry).toContain("pg_autoctl create monitor");
    expect(entry).toMatch(/pg_autoctl create postgres [^\n]*\\\n[^\n]*--formation "\$FORMATION"/);
    for (const [name, value] of Object.entries(MONITOR_SETTINGS)) expect(entry).toContain(`${name} = ${value}`);
    expect(entry).toContain(`timeout.network_partition_timeout ${NETWORK_PARTITION_TIMEOUT_S}`);
  });

  test("INSTANCE_IDs are distinct and valid; TRUSTED_PROXIES is exactly haproxy's fixed address", () => {
    const ids = appServices.map(([, s]) => Number(envOf(s).INSTANCE_ID));
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(Number.isInteger(id) && id >= 0 && id <= 63).toBe(true);

    const haproxy = services.haproxy!;
    const networks = haproxy.networks as Record<string, { ipv4_address?: string }>;
    const [netName, net] = Object.entries(networks)[0]!;
    expect(net.ipv4_address).toBe(COMPOSE_TOPOLOGY.haproxyIp);
    for (const [, s] of appServices) expect(envOf(s).TRUSTED_PROXIES).toBe(COMPOSE_TOPOLOGY.haproxyIp);

    const ipam = compose.networks[netName]!.ipam!.config![0]!;
    expect(ipam.subnet).toBe(COMPOSE_TOPOLOGY.subnet);
    expect(inCidr(COMPOSE_TOPOLOGY.haproxyIp, ipam.subnet!)).toBe(true);
    // Dynamic addresses come from ip_range; haproxy's must lie outside it or another container may take it first.
    expect(inCidr(COMPOSE_TOPOLOGY.haproxyIp, ipam.ip_range!)).toBe(false);
  });

  test("haproxy runs the official image with the committed config and publishes its frontend", () => {
    const haproxy = services.haproxy!;
    expect(haproxy.image).toMatch(/^haproxy:\d/);
    expect(haproxy.volumes).toContain("./haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro");
    const frontPort = COMPOSE_TOPOLOGY.httpBind.split(":").pop();
    expect(haproxy.ports!.some((p) => p.endsWith(`:${frontPort}`))).toBe(true);
    // Nothing else is reachable from the host.
    for (const [name, s] of Object.entries(services)) if (name !== "haproxy") expect(s.ports, name).toBeUndefined();
  });

  test("draining outlasts HAProxy's detection, so a SIGTERMed instance leaves the rotation before it closes", () => {
    const detectMs = COMPOSE_CHECK.interMs + (COMPOSE_CHECK.fall - 1) * COMPOSE_CHECK.fastinterMs;
    for (const [, s] of appServices) expect(Number(envOf(s).SHUTDOWN_DRAIN_MS)).toBeGreaterThan(detectMs);
  });

  test("every service has a healthcheck of the right kind; every volume is a declared named volume", () => {
    for (const [name, s] of Object.entries(services)) {
      const check = [s.healthcheck?.test].flat().join(" ");
      expect(check.length, `${name} has no healthcheck`).toBeGreaterThan(0);
      if (s.image?.startsWith("postgres")) expect(check).toContain("pg_isready");
      if (s.image?.startsWith("redis")) expect(check).toContain("redis-cli ping");
      if (isApp(s)) expect(check).toContain("/health/ready");
      for (const v of s.volumes ?? []) {
        const source = v.split(":")[0]!;
        if (!source.startsWith(".") && !source.startsWith("/")) expect(compose.volumes, `${name}: volume ${source}`).toHaveProperty(source);
      }
    }
    expect(composeText).toContain("applies migrations/ to every\n# reachable primary when it boots");
  });
});

describe("Dockerfile", () => {
  const dockerfile = readFileSync(join(ROOT, "Dockerfile"), "utf8");
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { devDependencies: Record<string, string> };

  test("runs on the pinned official Bun image as a non-root user, with production dependencies only", () => {
    const runtime = dockerfile.split(/^FROM /m).pop()!;
    expect(runtime).toStartWith(`oven/bun:${pkg.devDependencies.bun}`);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    const user = [...runtime.matchAll(/^USER (\S+)/gm)].pop()?.[1];
    expect(user).toBeDefined();
    expect(["root", "0"]).not.toContain(user!);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\n?.*\/health\/ready/m);
    expect(dockerfile).toMatch(/^CMD \["bun", "src\/main.ts"\]$/m);
  });

  test("copies every folder the app and its operator tools (reshard) read at run time, and .dockerignore lets them in", () => {
    const ignore = readFileSync(join(ROOT, ".dockerignore"), "utf8");
    for (const dir of ["src", "workers", "migrations", "public", "scripts"]) {
      expect(dockerfile).toContain(`COPY ${dir} ./${dir}`);
      expect(ignore).toContain(`!${dir}/`);
    }
    expect(ignore).toContain("!package-lock.json");
  });
});

function inCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split("/");
  const toInt = (a: string) => a.split(".").reduce((n, o) => (n << 8) + Number(o), 0) >>> 0;
  const mask = Number(bits) === 0 ? 0 : (~0 << (32 - Number(bits))) >>> 0;
  return ((toInt(ip) & mask) >>> 0) === ((toInt(base!) & mask) >>> 0);
}
