import { z } from "zod";

/**
 * The env contract (README, Configuration). `parseConfig` is pure: it takes an env record and returns the
 * typed config or one line naming the variable that is wrong. Only the composition root calls
 * it, with process.env; nothing else reads the environment.
 */

const int = (min: number, max: number) => z.coerce.number({ error: "must be a number" }).int("must be an integer").min(min, `must be >= ${min}`).max(max, `must be <= ${max}`);

/**
 * A list of node URLs. An entry may name several hosts (`postgres://u@h1:5432,h2:5432/db`, the
 * libpq form a PostgreSQL HA pair is given in), so entries are split only at a comma that starts
 * another URL.
 */
const nodeList = (scheme: RegExp, what: string) =>
  z
    .string({ error: "is missing" })
    .transform((raw) => splitUrls(raw))
    .superRefine((urls, ctx) => {
      if (urls.length === 0) ctx.addIssue({ code: "custom", message: "is empty" });
      urls.forEach((url, i) => {
        if (!scheme.test(url) || !validHosts(url)) {
          ctx.addIssue({ code: "custom", message: `entry ${i + 1} (${redact(url)}) is not a valid ${what} URL` });
        }
      });
    });

const ipList = z
  .string()
  .transform((raw) => raw.split(",").map((s) => s.trim()).filter((s) => s.length > 0));

const envSchema = z.object({
  DATABASE_NODES: nodeList(/^postgres(ql)?:\/\//, "postgres://"),
  REDIS_NODES: nodeList(/^rediss?:\/\//, "redis://"),
  HOST: z.string().min(1, "is empty").default("127.0.0.1"),
  PORT: int(0, 65535).default(8080),
  PUBLIC_BASE_URL: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).optional(),
  INSTANCE_ID: int(0, 63).default(0),
  ID_WORKERS: int(1, 16).default(2),
  ID_BLOCK_SIZE: int(16, 100_000).default(2048),
  ID_LOW_WATER: int(1, 1_000_000).default(1024),
  REDIS_TIMEOUT_MS: int(1, 60_000).default(100),
  DB_TIMEOUT_MS: int(1, 60_000).default(1000),
  DB_POOL_SIZE: int(1, 100).default(8),
  BREAKER_COOLDOWN_MS: int(10, 600_000).default(2000),
  CACHE_TTL_SECONDS: int(0, 31_536_000).default(86_400),
  REDIRECT_STATUS: z.enum(["301", "302", "307", "308"], { error: "must be one of 301, 302, 307, 308" }).default("302").transform(Number),
  MAX_URL_LENGTH: int(16, 65_536).default(2048),
  MAX_BODY_BYTES: int(64, 1_048_576).default(8192),
  IMPORT_MAX_BYTES: int(1024, 1_073_741_824).default(67_108_864),
  TRUSTED_PROXIES: ipList.default([]),
  OWN_HOSTNAMES: ipList.default([]),
  RATE_LIMIT_CREATE_PER_MIN: int(1, 1_000_000).default(60),
  RATE_LIMIT_REDIRECT_PER_MIN: int(1, 10_000_000).default(6000),
  RATE_LIMIT_NOT_FOUND_COST: int(1, 1000).default(20),
  RATE_LIMIT_SYNC_MS: int(10, 10_000).default(100),
  RATE_LIMIT_WHEN_REDIS_DOWN: z.enum(["memory", "allow", "deny"], { error: "must be memory, allow or deny" }).default("memory"),
  RATE_LIMIT_ENABLED: z.enum(["true", "false"], { error: "must be true or false" }).default("true").transform((v) => v === "true"),
  EVENT_FLUSH_MS: int(5, 10_000).default(50),
  EVENT_FEED_SIZE: int(1, 10_000).default(50),
  EVENT_BUS_REDIS: z.string().regex(/^rediss?:\/\//, "must be a redis:// URL").optional(),
  METRICS_PUSH_MS: int(100, 60_000).default(1000),
  HOT_CACHE_SIZE: int(0, 10_000_000).default(10_000),
  HOT_CACHE_TTL_MS: int(0, 3_600_000).default(5000),
  HOT_CACHE_MAX_BYTES: int(0, 2 ** 31).default(16 * 1024 * 1024),
  CLICK_FLUSH_MS: int(50, 60_000).default(1000),
  ANALYTICS_ENABLED: z.enum(["true", "false"], { error: "must be true or false" }).default("true").transform((v) => v === "true"),
  ANALYTICS_GEO: z.enum(["true", "false"], { error: "must be true or false" }).default("true").transform((v) => v === "true"),
  ANALYTICS_UNIQUES: z.enum(["true", "false"], { error: "must be true or false" }).default("true").transform((v) => v === "true"),
  ANALYTICS_WORKERS: int(1, 16).default(1),
  ANALYTICS_BUFFER: int(1, 10_000_000).default(200_000),
  ANALYTICS_FLUSH_MS: int(0, 600_000).default(60_000),
  ANALYTICS_RETENTION_DAYS: int(1, 36_500).default(400),
  ANALYTICS_HOURLY_DAYS: int(1, 36_500).default(31),
  ADMIN_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
  ANONYMOUS_CREATE: z.enum(["true", "false"], { error: "must be true or false" }).default("true").transform((v) => v === "true"),
  ANONYMOUS_CREATE_PER_DAY: int(0, 100_000_000).default(100),
  BLOCKLIST_FILE: z.string().min(1, "must be a file path").optional(),
  BLOCKLIST_POLL_MS: int(100, 60_000).default(500),
  NOT_FOUND_REDIRECT_URL: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).optional(),
  RATE_LIMIT_KEY_PER_MIN: int(1, 10_000_000).default(1200),
  RATE_LIMIT_AUTH_PER_MIN: int(1, 1_000_000).default(30),
  KEYS_POLL_MS: int(100, 60_000).default(1000),
  KEYS_UNKNOWN_TTL_MS: int(0, 60_000).default(5000),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.url({ protocol: /^https?$/, error: "must be an http(s) URL (the OTLP/HTTP traces endpoint, e.g. http://collector:4318/v1/traces)" }).optional(),
  OTEL_TRACES_SAMPLER_ARG: z.coerce.number({ error: "must be a number" }).min(0, "must be >= 0").max(1, "must be <= 1").default(1),
  TOPOLOGY_POLL_MS: int(50, 60_000).default(1000),
  TOPOLOGY_LIVE_MS: int(500, 600_000).default(5000),
  WS_MAX_BUFFERED_BYTES: int(1024, 256 * 1024 * 1024).default(1024 * 1024),
  OBSERVABILITY_PUBLIC: z.enum(["true", "false"], { error: "must be true or false" }).default("false").transform((v) => v === "true"),
  METRICS_PORT: int(1, 65535).optional(),
  METRICS_HOST: z.string().min(1, "is empty").default("127.0.0.1"),
  WS_MAX_PER_CLIENT: int(1, 100_000).default(20),
  WS_MESSAGES_PER_SEC: int(1, 10_000).default(10),
  WS_MAX_MESSAGE_BYTES: int(64, 1024 * 1024).default(4096),
  WS_AUTH_TIMEOUT_MS: int(100, 60_000).default(5000),
  SHUTDOWN_DRAIN_MS: int(0, 60_000).default(1000),
  SHUTDOWN_GRACE_MS: int(0, 120_000).default(10_000),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"], { error: "must be debug, info, warn or error" }).default("info"),
});

type Env = z.infer<typeof envSchema>;

export interface ShardNodes {
  index: number;
  redis: string;
  primary: string;
  replica: string;
}

export type Config = Omit<Env, "DATABASE_NODES" | "REDIS_NODES" | "PUBLIC_BASE_URL"> & {
  shards: ShardNodes[];
  PUBLIC_BASE_URL: string;
};

export type ConfigResult = { ok: true; config: Config } | { ok: false; message: string };

export function parseConfig(env: Record<string, string | undefined>): ConfigResult {
  const input = { ...nonEmpty(env), DATABASE_NODES: nonEmptyValue(env.DATABASE_NODES) ?? nonEmptyValue(env.DB_NODES) };
  const dbVar = nonEmptyValue(env.DATABASE_NODES) !== undefined || nonEmptyValue(env.DB_NODES) === undefined ? "DATABASE_NODES" : "DB_NODES";
  const parsed = envSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0] ?? "env");
    const shown = name === "DATABASE_NODES" ? (issue.message === "is missing" ? "DATABASE_NODES (or DB_NODES)" : dbVar) : name;
    return { ok: false, message: `config: ${shown} ${issue.message}` };
  }
  const env2 = parsed.data;
  const db = env2.DATABASE_NODES;
  if (db.length % 2 !== 0) {
    return { ok: false, message: `config: ${dbVar} has ${db.length} URLs; it needs an even count (primary,replica per shard)` };
  }
  const shardCount = db.length / 2;
  if (env2.REDIS_NODES.length !== shardCount) {
    return {
      ok: false,
      message: `config: REDIS_NODES has ${env2.REDIS_NODES.length} URLs but ${dbVar} describes ${shardCount} shards (${db.length} URLs); they must match`,
    };
  }
  if (env2.TOPOLOGY_LIVE_MS <= env2.TOPOLOGY_POLL_MS * 2) {
    return { ok: false, message: `config: TOPOLOGY_LIVE_MS must be above 2 x TOPOLOGY_POLL_MS (${env2.TOPOLOGY_POLL_MS * 2}), or a live instance would look dead between heartbeats` };
  }
  if (env2.ID_LOW_WATER >= env2.ID_BLOCK_SIZE * 8) {
    return { ok: false, message: `config: ID_LOW_WATER must be below 8 x ID_BLOCK_SIZE (${env2.ID_BLOCK_SIZE * 8})` };
  }
  const shards = env2.REDIS_NODES.map((redis, index) => ({ index, redis, primary: db[2 * index]!, replica: db[2 * index + 1]! }));
  const { DATABASE_NODES: _db, REDIS_NODES: _redis, ...rest } = env2;
  const publicBase = (env2.PUBLIC_BASE_URL ?? `http://${hostForUrl(env2.HOST)}:${env2.PORT}`).replace(/\/+$/, "");
  return { ok: true, config: { ...rest, shards, PUBLIC_BASE_URL: publicBase } };
}

function nonEmptyValue(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value;
}

function nonEmpty(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    const v = nonEmptyValue(value);
    if (v !== undefined) out[key] = v.trim();
  }
  return out;
}

function hostForUrl(host: string): string {
  if (host === "0.0.0.0" || host === "::") return "127.0.0.1";
  return host.includes(":") ? `[${host}]` : host;
}

/** Entries of a comma-separated URL list; a comma inside an entry's host list does not split it. */
export function splitUrls(raw: string): string[] {
  const entries: string[] = [];
  for (const piece of raw.split(",").map((s) => s.trim())) {
    if (piece.length === 0) continue;
    if (entries.length > 0 && !/^[a-z][a-z0-9+.-]*:\/\//i.test(piece)) entries[entries.length - 1] += `,${piece}`;
    else entries.push(piece);
  }
  return entries;
}

/**
 * A URL's parts around its host list, which may name several `host:port` (libpq's multi-host
 * form; WHATWG URL takes one). Null when there is no `scheme://`.
 *
 * @example hostsOf("postgres://u@a:1,b:2/db") // { prefix: "postgres://u@", hosts: ["a:1", "b:2"], rest: "/db" }
 */
export function hostsOf(url: string): { prefix: string; hosts: string[]; rest: string } | null {
  const m = /^([a-z][a-z0-9+.-]*:\/\/(?:[^@/?#]*@)?)([^/?#]*)(.*)$/i.exec(url);
  return m ? { prefix: m[1]!, hosts: m[2]!.split(","), rest: m[3]! } : null;
}

/** Each host of the URL makes a valid URL on its own. */
function validHosts(url: string): boolean {
  const parts = hostsOf(url);
  return parts !== null && parts.hosts.every((host) => host.length > 0 && URL.canParse(`${parts.prefix}${host}${parts.rest}`));
}

/** Never echo a password from a connection URL into a log line. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@");
}
