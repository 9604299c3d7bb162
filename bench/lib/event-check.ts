/**
 * A fast structural check of one stream event (docs/api.md "Event stream protocol"): the fields every event has,
 * the read-only fields, and their types. Cheap enough to run on every event at full load; the
 * exact zod contract (src/events/event-schema.ts) is applied to a sample as well. The k6 script
 * bench/k6/events.ts carries the same rules (k6 cannot import from src/).
 * Returns null when the event is valid, else the first problem.
 */
export function checkEvent(e: unknown): string | null {
  if (typeof e !== "object" || e === null) return "event is not an object";
  const ev = e as Record<string, unknown>;
  const str = (k: string) => typeof ev[k] === "string" && (ev[k] as string).length > 0;
  const strOrNull = (k: string) => ev[k] === null || typeof ev[k] === "string";
  const num = (k: string) => typeof ev[k] === "number" && Number.isFinite(ev[k]) && (ev[k] as number) >= 0;
  if (!str("event_id")) return "event_id must be a non-empty string";
  if (!["read", "write", "update", "delete", "click"].includes(ev.type as string)) return `type must be read|write|update|delete|click, got ${JSON.stringify(ev.type)}`;
  if (!["OK", "ERROR", "NOT_FOUND", "GONE"].includes(ev.status as string)) return `status must be OK|ERROR|NOT_FOUND|GONE, got ${JSON.stringify(ev.status)}`;
  if (!str("node")) return "node must be a non-empty string";
  for (const k of ["redis", "db", "short_code"]) if (!strOrNull(k)) return `${k} must be a string or null`;
  if (!num("latency_ms")) return "latency_ms must be a number >= 0";
  if (ev.type === "click") {
    for (const k of ["country", "referrer", "browser", "os"]) if (!str(k)) return `click ${k} must be a non-empty string`;
    if (!["desktop", "mobile", "tablet", "other"].includes(ev.device as string)) return `click device invalid: ${JSON.stringify(ev.device)}`;
    return typeof ev.bot === "boolean" ? null : "click bot must be a boolean";
  }
  if (ev.type !== "read") return null;
  if (ev.cache !== "HIT" && ev.cache !== "MISS") return `cache must be HIT|MISS, got ${JSON.stringify(ev.cache)}`;
  if (!["memory", "redis", "replica", "primary", "none", "error"].includes(ev.source as string)) return `source invalid: ${JSON.stringify(ev.source)}`;
  for (const k of ["cache_hit_count", "cache_miss_count", "cache_total"]) if (!Number.isInteger(ev[k]) || (ev[k] as number) < 0) return `${k} must be an integer >= 0`;
  for (const k of ["cache_hit_rate", "cache_miss_rate"]) if (!num(k) || (ev[k] as number) > 1) return `${k} must be a number in 0..1`;
  const m = ev.cache_metrics as Record<string, unknown> | null;
  if (typeof m !== "object" || m === null) return "cache_metrics must be an object";
  for (const k of ["cache_hit_count", "cache_miss_count", "cache_total", "cache_hit_rate", "cache_miss_rate"]) if (m[k] !== ev[k]) return `cache_metrics.${k} must equal ${k}`;
  if ((ev.cache === "HIT") !== (ev.source === "redis" || ev.source === "memory")) return "cache HIT must go with source memory or redis (and only those)";
  return null;
}
