/**
 * Holds the cache metrics the backend pushes (WebSocket `metrics` messages and GET /api/metrics).
 *
 * It computes no cache figure: the backend already did, once, so every dashboard shows the same
 * numbers as the event stream and the API. This module only checks the shape of what arrives,
 * keeps the latest instance and cluster figures, and a bounded history for the chart.
 *
 * @example
 *   const metrics = createCacheMetricsService({ historyLimit: 180 });
 *   metrics.subscribe((state) => render(state.cluster.cache_hit_rate));
 *   metrics.ingest(JSON.parse(message));
 */

const FIGURE_COUNTS = ["cache_hit_count", "cache_miss_count", "cache_total"];
const FIGURE_RATES = ["cache_hit_rate", "cache_miss_rate"];
const FIGURE_SPEEDS = ["reads_per_s", "writes_per_s"];
const SHARD_FIELDS = ["hits", "misses", "replica_fallbacks", "primary_fallbacks", "not_found", "errors", "writes", "write_errors"];
// Added with the hot-link cache and click counting: a server that predates them sends none of
// these, and a page showing "—" for them beats a page showing nothing. Absent or malformed → null.
const SHARD_OPTIONAL = ["memory_hits", "redis_hits"];
const TOP_LINKS_MAX = 10;
const BREAKER_STATES = new Set(["closed", "open", "half-open"]);

const isCount = (v) => Number.isInteger(v) && v >= 0;
const isRate = (v) => typeof v === "number" && Number.isFinite(v) && v >= 0 && v <= 1;
const isSpeed = (v) => typeof v === "number" && Number.isFinite(v) && v >= 0;
const isObject = (v) => typeof v === "object" && v !== null && !Array.isArray(v);

function parseShards(value) {
  if (!Array.isArray(value)) return null;
  const shards = [];
  for (const raw of value) {
    if (!isObject(raw)) return null;
    const shard = {};
    for (const field of SHARD_FIELDS) {
      if (!isCount(raw[field])) return null;
      shard[field] = raw[field];
    }
    for (const field of SHARD_OPTIONAL) shard[field] = isCount(raw[field]) ? raw[field] : null;
    shards.push(Object.freeze(shard));
  }
  return Object.freeze(shards);
}

// Entries the page cannot show (no code, a count that is not one) are dropped; the order is the backend's.
function parseTopLinks(value) {
  if (!Array.isArray(value)) return null;
  const links = value.filter((t) => isObject(t) && typeof t.code === "string" && t.code !== "" && isCount(t.clicks)).slice(0, TOP_LINKS_MAX);
  return Object.freeze(links.map((t) => Object.freeze({ code: t.code, clicks: t.clicks })));
}

const AUDIENCE_DIMENSIONS = ["country", "referrer", "device"];

// Click analytics' humans, bots and top values (null when the backend sends none: analytics off).
function parseAudience(value) {
  if (!isObject(value) || !isCount(value.humans) || !isCount(value.bots) || !isObject(value.top)) return null;
  const top = {};
  for (const d of AUDIENCE_DIMENSIONS) {
    const list = Array.isArray(value.top[d]) ? value.top[d] : [];
    top[d] = Object.freeze(list.filter((t) => isObject(t) && typeof t.value === "string" && isCount(t.clicks)).slice(0, TOP_LINKS_MAX).map((t) => Object.freeze({ value: t.value, clicks: t.clicks })));
  }
  return Object.freeze({ humans: value.humans, bots: value.bots, top: Object.freeze(top) });
}

/**
 * The fields both `instance` and `cluster` carry; null when a required one is missing or out of
 * range. memory_hits, clicks_per_s, clicks_total and top_links are optional (null when absent).
 */
function parseFigures(raw) {
  if (!isObject(raw)) return null;
  const figures = {};
  for (const k of FIGURE_COUNTS) {
    if (!isCount(raw[k])) return null;
    figures[k] = raw[k];
  }
  for (const k of FIGURE_RATES) {
    if (!isRate(raw[k])) return null;
    figures[k] = raw[k];
  }
  for (const k of FIGURE_SPEEDS) {
    if (!isSpeed(raw[k])) return null;
    figures[k] = raw[k];
  }
  const shards = parseShards(raw.shards);
  if (!shards) return null;
  figures.shards = shards;
  figures.memory_hits = isCount(raw.memory_hits) && raw.memory_hits <= figures.cache_hit_count ? raw.memory_hits : null;
  figures.redis_hits = isCount(raw.redis_hits) && raw.redis_hits <= figures.cache_hit_count ? raw.redis_hits : null;
  figures.memory_hit_share = isRate(raw.memory_hit_share) ? raw.memory_hit_share : null;
  figures.clicks_per_s = isSpeed(raw.clicks_per_s) ? raw.clicks_per_s : null;
  figures.clicks_total = isCount(raw.clicks_total) ? raw.clicks_total : null;
  figures.top_links = parseTopLinks(raw.top_links);
  figures.audience = parseAudience(raw.audience);
  return figures;
}

function parseInstance(raw) {
  const figures = parseFigures(raw);
  if (!figures || typeof raw.node !== "string") return null;
  return Object.freeze({ node: raw.node, ...figures });
}

function parseCluster(raw) {
  const figures = parseFigures(raw);
  if (!figures) return null;
  const instances = Array.isArray(raw.instances) ? raw.instances.filter((i) => typeof i === "string") : [];
  const source = typeof raw.source === "string" ? raw.source : "unknown";
  return Object.freeze({ ...figures, instances: Object.freeze(instances), source });
}

// A node with a state this page does not know is dropped rather than shown as healthy.
function parseNodes(value) {
  if (!Array.isArray(value)) return Object.freeze([]);
  return Object.freeze(
    value
      .filter((n) => isObject(n) && typeof n.name === "string" && BREAKER_STATES.has(n.breaker))
      .map((n) => Object.freeze({ name: n.name, breaker: n.breaker })),
  );
}

/**
 * Validates one metrics payload. Returns `{ ok: true, value }` or `{ ok: false, reason }`; a
 * payload that is still pending (the server has not pushed yet) is `{ ok: false, pending: true }`.
 */
export function parseMetricsPayload(payload) {
  if (!isObject(payload)) return { ok: false, reason: "not an object" };
  if (payload.pending === true) return { ok: false, pending: true, reason: "pending" };
  if (payload.kind !== undefined && payload.kind !== "metrics") return { ok: false, reason: `kind ${String(payload.kind)}` };
  if (typeof payload.at !== "number" || !Number.isFinite(payload.at)) return { ok: false, reason: "bad at" };
  const instance = parseInstance(payload.instance);
  if (!instance) return { ok: false, reason: "bad instance figures" };
  const cluster = parseCluster(payload.cluster);
  if (!cluster) return { ok: false, reason: "bad cluster figures" };
  return { ok: true, value: Object.freeze({ at: payload.at, instance, cluster, nodes: parseNodes(payload.nodes) }) };
}

export function createCacheMetricsService({ historyLimit = 180 } = {}) {
  let latest = null;
  let series = [];
  const listeners = new Set();

  function state() {
    return {
      at: latest?.at ?? null,
      instance: latest?.instance ?? null,
      cluster: latest?.cluster ?? null,
      nodes: latest?.nodes ?? [],
      series,
    };
  }

  function notify() {
    const snapshot = state();
    for (const listener of listeners) {
      // One broken view must not starve the others; reportError still surfaces it as a page error.
      try {
        listener(snapshot);
      } catch (error) {
        globalThis.reportError?.(error);
      }
    }
  }

  return {
    /** Accepts a metrics message or /api/metrics body. Returns true when it was stored. */
    ingest(payload) {
      const parsed = parseMetricsPayload(payload);
      if (!parsed.ok) return false;
      const value = parsed.value;
      // The same push can arrive twice (the /api/metrics prime after connecting, then the socket):
      // anything not newer than what we hold is ignored, so the series stays strictly in time order.
      if (latest && value.at <= latest.at) return false;
      latest = value;
      const point = Object.freeze({
        at: value.at,
        hit_rate: value.cluster.cache_hit_rate,
        requests_per_s: value.cluster.reads_per_s + value.cluster.writes_per_s,
      });
      series = series.length >= historyLimit ? [...series.slice(series.length - historyLimit + 1), point] : [...series, point];
      notify();
      return true;
    },
    /** Calls `listener(state)` on every stored push, and once now if data is already held. */
    subscribe(listener) {
      listeners.add(listener);
      if (latest) listener(state());
      return () => listeners.delete(listener);
    },
  };
}
