/**
 * The backend's own figures around a run: /metrics (Prometheus text, live counters) from every
 * instance, summed, as a before/after delta; and /api/metrics (the cluster figures the
 * dashboard shows, pushed every METRICS_PUSH_MS) as the last snapshot.
 */

export type Samples = Map<string, number>;

export async function scrape(instanceUrls: readonly string[]): Promise<Samples> {
  const total: Samples = new Map();
  await Promise.all(
    instanceUrls.map(async (url) => {
      try {
        const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(3000) });
        for (const [k, v] of parseProm(await res.text())) total.set(k, (total.get(k) ?? 0) + v);
      } catch {
        // an instance that cannot answer contributes nothing; the delta shows it
      }
    }),
  );
  return total;
}

/** `name{labels} value` lines; label order as printed (prom-client is stable). */
export function parseProm(text: string): Samples {
  const out: Samples = new Map();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const sp = line.lastIndexOf(" ");
    const value = Number(line.slice(sp + 1));
    if (Number.isFinite(value)) out.set(line.slice(0, sp), value);
  }
  return out;
}

export interface BackendDelta {
  reads: { hits: number; misses: number; hit_rate: number | null; replica_fallbacks: number; primary_fallbacks: number; errors: number; not_found: number };
  writes: number;
  write_errors: number;
  /** Per shard: kind → delta (hits, misses, replica_fallbacks, primary_fallbacks, errors, writes, ...). */
  shards: Record<string, Record<string, number>>;
  http: Record<string, number>;
  event_drops: number;
  ws_clients: number;
  /** Group-commit create statements and the creates they carried (shorten_create_batches). */
  create_batches: { statements: number; creates: number };
  /** Event-loop lateness samples (shorten_event_loop_delay_seconds): cumulative count per bucket bound in ms. */
  loop_delay: { samples: number; at_most_ms: Record<string, number> };
}

export function delta(before: Samples, after: Samples): BackendDelta {
  const d = (k: string) => (after.get(k) ?? 0) - (before.get(k) ?? 0);
  const shards: Record<string, Record<string, number>> = {};
  const http: Record<string, number> = {};
  for (const key of after.keys()) {
    const shard = /^shorten_shard_reads\{shard="(\d+)",kind="(\w+)"\}$/.exec(key);
    if (shard) (shards[shard[1]!] ??= {})[shard[2]!] = d(key);
    const req = /^shorten_http_requests_total\{(.*)\}$/.exec(key);
    if (req) {
      const labels = Object.fromEntries([...req[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
      const name = `${labels.method} ${labels.route} ${labels.status}`;
      const v = d(key);
      if (v !== 0) http[name] = (http[name] ?? 0) + v;
    }
  }
  const loopDelay: Record<string, number> = {};
  for (const key of after.keys()) {
    const bucket = /^shorten_event_loop_delay_seconds_bucket\{le="([^"]+)"\}$/.exec(key);
    if (bucket && bucket[1] !== "+Inf") loopDelay[String(Number(bucket[1]) * 1000)] = d(key);
  }
  const sum = (kind: string) => Object.values(shards).reduce((n, s) => n + (s[kind] ?? 0), 0);
  const hits = sum("hits");
  const misses = sum("misses");
  return {
    reads: { hits, misses, hit_rate: hits + misses === 0 ? null : hits / (hits + misses), replica_fallbacks: sum("replica_fallbacks"), primary_fallbacks: sum("primary_fallbacks"), errors: sum("errors"), not_found: sum("not_found") },
    writes: sum("writes"),
    write_errors: sum("write_errors"),
    shards,
    http,
    event_drops: d('shorten_event_drops{unit="events"}'),
    ws_clients: after.get("shorten_ws_clients") ?? 0,
    create_batches: { statements: d('shorten_create_batches{unit="statements"}'), creates: d('shorten_create_batches{unit="creates"}') },
    loop_delay: { samples: d("shorten_event_loop_delay_seconds_count"), at_most_ms: loopDelay },
  };
}

/**
 * Over several deltas: the bucket bound (ms) under which a share `q` of the event loop's
 * lateness samples fell, and how many samples were later than `overMs`.
 */
export function loopDelaySummary(deltas: readonly BackendDelta[], q: number, overMs: number): { quantile_at_most_ms: number | null; over: number; samples: number } {
  const samples = deltas.reduce((n, d) => n + d.loop_delay.samples, 0);
  const bounds = [...new Set(deltas.flatMap((d) => Object.keys(d.loop_delay.at_most_ms)))].map(Number).sort((a, b) => a - b);
  const within = (ms: number) => deltas.reduce((n, d) => n + (d.loop_delay.at_most_ms[String(ms)] ?? 0), 0);
  const quantile = bounds.find((ms) => within(ms) >= q * samples) ?? null;
  const overBound = bounds.find((ms) => ms >= overMs);
  return { quantile_at_most_ms: samples === 0 ? null : quantile, over: overBound === undefined ? 0 : samples - within(overBound), samples };
}

/** /api/metrics of one instance: the cluster-wide figures the dashboard shows. */
export async function clusterFigures(url: string): Promise<unknown> {
  try {
    const res = await fetch(`${url}/api/metrics`, { signal: AbortSignal.timeout(3000) });
    return await res.json();
  } catch (error) {
    return { error: (error as Error).message };
  }
}

/** Runs `fn` between two scrapes and returns both. */
export async function measured<T>(instanceUrls: readonly string[], fn: () => Promise<T>): Promise<{ result: T; backend: BackendDelta }> {
  const before = await scrape(instanceUrls);
  const result = await fn();
  const after = await scrape(instanceUrls);
  return { result, backend: delta(before, after) };
}

/** The event loop's lateness over the max-load runs: its p99 bucket and the samples over 10 ms (stalls). */
export function loopDelayFigures(backend: readonly BackendDelta[]): Record<string, number | null> {
  const l = loopDelaySummary(backend, 0.99, 10);
  return { ours_loop_delay_p99_at_most_ms: l.quantile_at_most_ms, ours_loop_delay_over_10ms: l.over, ours_loop_delay_samples: l.samples };
}
