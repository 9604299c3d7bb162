import { describe, expect, test } from "bun:test";
import { parseConfig } from "../../src/config";

const P = (port: number) => `postgres://postgres@127.0.0.1:${port}/shorten`;
const base = { DATABASE_NODES: `${P(1)},${P(2)},${P(3)},${P(4)}`, REDIS_NODES: "redis://127.0.0.1:5,redis://127.0.0.1:6" };

function message(env: Record<string, string | undefined>): string {
  const result = parseConfig(env);
  if (result.ok) throw new Error("expected a config error");
  return result.message;
}

describe("parseConfig", () => {
  test("reads primary,replica pairs into shards with defaults", () => {
    const result = parseConfig(base);
    if (!result.ok) throw new Error(result.message);
    expect(result.config.shards).toEqual([
      { index: 0, redis: "redis://127.0.0.1:5", primary: P(1), replica: P(2) },
      { index: 1, redis: "redis://127.0.0.1:6", primary: P(3), replica: P(4) },
    ]);
    expect(result.config.HOST).toBe("127.0.0.1");
    expect(result.config.PORT).toBe(8080);
    expect(result.config.PUBLIC_BASE_URL).toBe("http://127.0.0.1:8080");
    expect(result.config.REDIRECT_STATUS).toBe(302);
  });

  test("DB_NODES is accepted when DATABASE_NODES is absent, and DATABASE_NODES wins over it", () => {
    const viaAlias = parseConfig({ DB_NODES: base.DATABASE_NODES, REDIS_NODES: base.REDIS_NODES });
    expect(viaAlias.ok).toBe(true);
    const both = parseConfig({ ...base, DB_NODES: "postgres://x:1/d" });
    expect(both.ok && both.config.shards.length).toBe(2);
  });

  test("an entry may name a PostgreSQL HA pair's hosts (libpq's multi-host form); commas inside it do not split it", () => {
    const pair = (attrs: string) => `postgres://postgres@127.0.0.1:11,127.0.0.1:12/shorten?target_session_attrs=${attrs}`;
    const result = parseConfig({ DATABASE_NODES: `${pair("primary")}, ${pair("prefer-standby")}`, REDIS_NODES: "redis://127.0.0.1:5" });
    if (!result.ok) throw new Error(result.message);
    expect(result.config.shards).toEqual([{ index: 0, redis: "redis://127.0.0.1:5", primary: pair("primary"), replica: pair("prefer-standby") }]);
    expect(message({ DATABASE_NODES: "postgres://u@h1:1,:2/db,postgres://u@h:3/db", REDIS_NODES: "redis://a" })).toBe("config: DATABASE_NODES entry 1 (postgres://u@h1:1,:2/db) is not a valid postgres:// URL");
    expect(message({ DATABASE_NODES: "postgres://u@h1:1,h2:x/db,postgres://u@h:3/db", REDIS_NODES: "redis://a" })).toContain("entry 1");
  });

  test("missing database nodes", () => {
    expect(message({ REDIS_NODES: "redis://a" })).toBe("config: DATABASE_NODES (or DB_NODES) is missing");
  });

  test("missing redis nodes", () => {
    expect(message({ DATABASE_NODES: base.DATABASE_NODES })).toBe("config: REDIS_NODES is missing");
  });

  test("odd database node count names the variable and the count", () => {
    expect(message({ ...base, DATABASE_NODES: `${P(1)},${P(2)},${P(3)}` })).toBe(
      "config: DATABASE_NODES has 3 URLs; it needs an even count (primary,replica per shard)",
    );
    expect(message({ DB_NODES: P(1), REDIS_NODES: "redis://a" })).toBe("config: DB_NODES has 1 URLs; it needs an even count (primary,replica per shard)");
  });

  test("shard count mismatch", () => {
    expect(message({ ...base, REDIS_NODES: "redis://a" })).toBe(
      "config: REDIS_NODES has 1 URLs but DATABASE_NODES describes 2 shards (4 URLs); they must match",
    );
  });

  test("bad URLs name the entry and never echo a password", () => {
    expect(message({ ...base, DATABASE_NODES: `${P(1)},mysql://u:secret@h/db` })).toBe(
      "config: DATABASE_NODES entry 2 (mysql://u:***@h/db) is not a valid postgres:// URL",
    );
    expect(message({ ...base, REDIS_NODES: "redis://a,http://b" })).toBe("config: REDIS_NODES entry 2 (http://b) is not a valid redis:// URL");
  });

  test("empty lists", () => {
    expect(message({ ...base, REDIS_NODES: " , " })).toBe("config: REDIS_NODES is empty");
  });

  test("numbers out of range or not numbers", () => {
    expect(message({ ...base, PORT: "http" })).toBe("config: PORT must be a number");
    expect(message({ ...base, PORT: "70000" })).toBe("config: PORT must be <= 65535");
    expect(message({ ...base, PORT: "80.5" })).toBe("config: PORT must be an integer");
    expect(message({ ...base, INSTANCE_ID: "64" })).toBe("config: INSTANCE_ID must be <= 63");
    expect(message({ ...base, ID_WORKERS: "0" })).toBe("config: ID_WORKERS must be >= 1");
    expect(message({ ...base, REDIS_TIMEOUT_MS: "-1" })).toBe("config: REDIS_TIMEOUT_MS must be >= 1");
  });

  test("enumerations", () => {
    expect(message({ ...base, REDIRECT_STATUS: "200" })).toBe("config: REDIRECT_STATUS must be one of 301, 302, 307, 308");
    expect(message({ ...base, RATE_LIMIT_WHEN_REDIS_DOWN: "maybe" })).toBe("config: RATE_LIMIT_WHEN_REDIS_DOWN must be memory, allow or deny");
    expect(message({ ...base, LOG_LEVEL: "loud" })).toBe("config: LOG_LEVEL must be debug, info, warn or error");
  });

  test("public base URL must be http(s) and loses its trailing slash", () => {
    expect(message({ ...base, PUBLIC_BASE_URL: "ftp://x" })).toBe("config: PUBLIC_BASE_URL must be an http(s) URL");
    const ok = parseConfig({ ...base, PUBLIC_BASE_URL: "https://sho.rt/" });
    expect(ok.ok && ok.config.PUBLIC_BASE_URL).toBe("https://sho.rt");
  });

  test("derived public URL brackets IPv6 hosts and maps wildcard hosts to loopback", () => {
    const v6 = parseConfig({ ...base, HOST: "::1", PORT: "9000" });
    expect(v6.ok && v6.config.PUBLIC_BASE_URL).toBe("http://[::1]:9000");
    const any = parseConfig({ ...base, HOST: "0.0.0.0" });
    expect(any.ok && any.config.PUBLIC_BASE_URL).toBe("http://127.0.0.1:8080");
  });

  test("trusted proxies are a comma list", () => {
    const r = parseConfig({ ...base, TRUSTED_PROXIES: "127.0.0.1, ::1" });
    expect(r.ok && r.config.TRUSTED_PROXIES).toEqual(["127.0.0.1", "::1"]);
  });

  test("low-water mark must fit the block size", () => {
    expect(message({ ...base, ID_BLOCK_SIZE: "16", ID_LOW_WATER: "1000" })).toBe("config: ID_LOW_WATER must be below 8 x ID_BLOCK_SIZE (128)");
  });

  test("an instance's liveness window must outlast two topology polls", () => {
    expect(message({ ...base, TOPOLOGY_POLL_MS: "1000", TOPOLOGY_LIVE_MS: "1500" })).toBe(
      "config: TOPOLOGY_LIVE_MS must be above 2 x TOPOLOGY_POLL_MS (2000), or a live instance would look dead between heartbeats",
    );
    expect(message({ ...base, TOPOLOGY_POLL_MS: "10" })).toBe("config: TOPOLOGY_POLL_MS must be >= 50");
    const r = parseConfig(base);
    expect(r.ok && [r.config.TOPOLOGY_POLL_MS, r.config.TOPOLOGY_LIVE_MS]).toEqual([1000, 5000]);
  });

  test("empty strings count as unset", () => {
    const r = parseConfig({ ...base, PORT: "", HOST: "  " });
    expect(r.ok && r.config.PORT).toBe(8080);
  });
});
