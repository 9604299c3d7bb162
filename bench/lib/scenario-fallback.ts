import { join } from "node:path";
import Redis from "ioredis";
import { INVALIDATION_CHANNEL } from "../../src/storage/redis-keys";
import { startNode, stopNode } from "../../scripts/cluster/index";
import { measured, scrape, type BackendDelta } from "./backend-metrics";
import { Checks } from "./checks";
import { instanceUrls, type Ctx, type ScenarioReport } from "./context";
import { k6Phases } from "./fallback-k6";
import { createsMax, redirectsMax } from "./load";
import { round, sourceCount } from "./load-result";
import { createLinks, evict, recache, seedRedirectCodes, writeCodesFile } from "./seed";

export const AFFECTED = 0;
const HOT_SHARE = 0.8;

export interface Phase {
  name: string;
  seconds: number;
  /** Runs before the phase's load starts (wrk mode; k6, whose load never pauses, runs it as the phase starts). */
  before?: () => Promise<void>;
  /** Runs ~0.5 s into the phase, while load runs. */
  action?: () => Promise<void>;
  /** Runs after the phase's load ended, before the next phase (wrk mode; k6 keeps a fixed timeline). */
  after?: () => Promise<void>;
}

/** One phase's figures, whichever tool produced them. */
export interface PhaseResult {
  name: string;
  seconds: number;
  redirects: { requests: number; failed: number; hit: number; miss: number; p99Ms: number | null; sources: Record<string, number>; status: Record<string, number> };
  creates: { requests: number; failed: number; shards: Record<string, number>; status: Record<string, number> };
  backend: BackendDelta | null;
  actionMs: number | null;
}

/**
 * Single-node faults on shard 0 under load: its Redis killed (as its phase starts) then restarted, then its replica
 * stopped (pg_ctl -m immediate) and restarted, then its primary. Redirects and creates run
 * throughout; each phase is measured on its own. Cold codes are re-cached before the Redis
 * fault (so any non-Redis answer is a fallback) and evicted after the replica/primary faults
 * (so misses happen on every shard and the fallback path is exercised).
 */
export async function fallbackScenario(ctx: Ctx): Promise<ScenarioReport> {
  const { args, stack, log } = ctx;
  const started = performance.now();
  const c = new Checks("fallback");
  const [hot, cold] = args.smoke ? [30, 300] : [100, 1500];
  const codes = await seedRedirectCodes(stack.oursUrl, stack.shards, hot, cold, `f${process.pid}`);
  const codesFile = writeCodesFile(join(ctx.workDir, "codes-fallback.txt"), codes);
  await recache(stack.shards, codes);
  const coldCodes = codes.filter((x) => !x.hot);
  const probe: { during: Array<{ code: string; shard: number; status: number; longUrl: string }>; resolvedAfter: number; wrongAfter: string[] } = { during: [], resolvedAfter: 0, wrongAfter: [] };
  const s = (full: number, smoke: number) => (args.smoke ? smoke : full);
  // Each fault starts only once the app has seen the previous node back (its breaker closed), so
  // exactly one node is down at a time; the time that took is reported per node.
  const restartedAt: Record<string, number> = {};
  const backAfterMs: Record<string, number | null> = {};
  const restart = (role: "redis" | "replica" | "primary") => async () => {
    await startNode(stack.state(), AFFECTED, role);
    restartedAt[role] = performance.now();
  };
  const waitBack = (role: "redis" | "replica" | "primary") => async () => {
    const ok = await breakerClosed(instanceUrls(ctx), `${role}-${AFFECTED}`, 20_000);
    backAfterMs[role] = ok ? performance.now() - restartedAt[role]! : null;
  };
  const phases: Phase[] = [
    { name: "warm", seconds: s(3, 1) },
    {
      name: "redis_down",
      seconds: s(5, 2),
      // The instances' hot-link caches would hide the fault for up to HOT_CACHE_TTL_MS: shard 0's
      // codes are invalidated (the app's own bus message, on the Redis about to die) and Redis is
      // killed between phases, with no load running to cache them again from Redis in between
      // (a CI run's smoke phase saw only cache answers when the kill came under load), so the
      // phase's reads of them fall back from its start.
      before: async () => {
        await invalidate(stack.shards[0]!.redis, codes.filter((x) => x.shard === AFFECTED).map((x) => x.code));
        // The instances read the message off their sockets before the connection drops under them.
        await Bun.sleep(100);
        await stopNode(stack.state(), AFFECTED, "redis", "kill");
      },
    },
    { name: "redis_restored", seconds: s(4, 3), action: restart("redis"), after: waitBack("redis") },
    { name: "recovered", seconds: s(4, 2) },
    { name: "replica_down", seconds: s(5, 2), action: async () => (await stopNode(stack.state(), AFFECTED, "replica", "immediate"), void (await evict(stack.shards, coldCodes))) },
    { name: "replica_restored", seconds: s(3, 1), action: restart("replica"), after: waitBack("replica") },
    {
      name: "primary_down",
      seconds: s(5, 2),
      action: async () => {
        await stopNode(stack.state(), AFFECTED, "primary", "immediate");
        await evict(stack.shards, coldCodes);
        // Acknowledged while the primary is down: must land elsewhere and resolve after healing.
        const made = await createLinks(stack.oursUrl, Array.from({ length: 10 }, (_, i) => `https://bench.example/probe/${process.pid}/${i}`), 2).catch(() => []);
        probe.during.push(...made);
      },
    },
    { name: "primary_restored", seconds: s(4, 3), action: restart("primary"), after: waitBack("primary") },
  ];

  // A load balancer probes /health/ready (HAProxy: every second), and the probe goes through
  // each node's breaker: that is how a restarted node is noticed without waiting for traffic to
  // it. Direct to one instance there is no balancer, so the runner does the same.
  const checker = stack.haproxy ? null : setInterval(() => void Promise.all(instanceUrls(ctx).map((u) => fetch(`${u}/health/ready`, { signal: AbortSignal.timeout(2000) }).then((r) => r.arrayBuffer()).catch(() => {}))), 1000);
  let results: PhaseResult[];
  try {
    results = ctx.load.tool === "k6" ? await k6Phases(ctx, phases, codesFile, HOT_SHARE) : await wrkPhases(ctx, phases, codesFile);
  } finally {
    if (checker) clearInterval(checker);
  }
  for (const p of results) {
    const hr = p.redirects.hit + p.redirects.miss === 0 ? 0 : p.redirects.hit / (p.redirects.hit + p.redirects.miss);
    log(`  ${p.name.padEnd(16)} redirects ${p.redirects.requests} failed ${p.redirects.failed} hit ${hr.toFixed(3)} | creates ${p.creates.requests} failed ${p.creates.failed} | ${fmtSources(p.redirects.sources)}`);
  }
  // The probe codes resolve once everything is back (redirects answer from the code's shard).
  for (const made of probe.during) {
    const res = await fetch(`${stack.oursUrl}/${made.code}`, { redirect: "manual" });
    await res.arrayBuffer();
    if (res.status === 302 && res.headers.get("location") === made.longUrl) probe.resolvedAfter++;
    else probe.wrongAfter.push(`${made.code}: ${res.status}`);
  }

  const phase = (name: string) => results.find((r) => r.name === name)!;
  const redisDown = phase("redis_down").redirects;
  const replicaDown = phase("replica_down").redirects;
  const recovered = phase("recovered").redirects;
  const other = (sh: string) => sh !== String(AFFECTED);
  c.eq("failed redirects while any single node is down (all phases)", results.reduce((n, p) => n + p.redirects.failed, 0), 0);
  c.eq("failed creates (all phases)", results.reduce((n, p) => n + p.creates.failed, 0), 0);
  const cached = (src: string) => src === "redis" || src === "memory";
  c.eq("redis_down: database answers on other shards (memory and Redis are cache answers)", sourceCount(redisDown, (sh, src) => other(sh) && !cached(src)), 0);
  c.atLeast("redis_down: database answers on shard 0 (fault observed)", sourceCount(redisDown, (sh, src) => !other(sh) && !cached(src)), 1);
  c.eq("replica_down: primary answers on other shards", sourceCount(replicaDown, (sh, src) => other(sh) && src === "primary"), 0);
  c.atLeast("replica_down: primary answers on shard 0 (fault observed)", sourceCount(replicaDown, (sh, src) => !other(sh) && src === "primary"), 1);
  c.atLeast("hit rate after Redis returned (phase recovered)", recovered.hit + recovered.miss === 0 ? null : recovered.hit / (recovered.hit + recovered.miss), args.hitRateFloor);
  c.check("creates acknowledged with shard 0's primary down went to other shards", probe.during.length > 0 && probe.during.every((p) => p.status === 201 && p.shard !== AFFECTED), `${probe.during.filter((p) => p.shard !== AFFECTED).length}/${probe.during.length}`, "all, none on shard 0");
  c.check("those creates resolve after healing", probe.during.length > 0 && probe.resolvedAfter === probe.during.length, `${probe.resolvedAfter}/${probe.during.length}`, "all");

  const summary: Record<string, number | string | null> = {
    // From restart until every instance's breaker for the node was closed again.
    redis_back_after_ms: backAfterMs.redis === undefined || backAfterMs.redis === null ? null : round(backAfterMs.redis, 0),
    replica_back_after_ms: backAfterMs.replica === undefined || backAfterMs.replica === null ? null : round(backAfterMs.replica, 0),
    primary_back_after_ms: backAfterMs.primary === undefined || backAfterMs.primary === null ? null : round(backAfterMs.primary, 0),
    failed_redirects: results.reduce((n, p) => n + p.redirects.failed, 0),
    failed_creates: results.reduce((n, p) => n + p.creates.failed, 0),
    redirects: results.reduce((n, p) => n + p.redirects.requests, 0),
    creates: results.reduce((n, p) => n + p.creates.requests, 0),
  };
  // One line per phase: hit rate, where misses were answered (shard 0 vs the others), failures, p99.
  for (const p of results) {
    const r = p.redirects;
    const n = (pred: (sh: string, src: string) => boolean) => sourceCount(r, pred);
    const hr = r.hit + r.miss === 0 ? "–" : (r.hit / (r.hit + r.miss)).toFixed(4);
    summary[p.name] =
      `hit ${hr}; shard 0: replica ${n((sh, src) => !other(sh) && src === "replica")}, primary ${n((sh, src) => !other(sh) && src === "primary")}; ` +
      `others: replica ${n((sh, src) => other(sh) && src === "replica")}, primary ${n((sh, src) => other(sh) && src === "primary")}; ` +
      `failed ${r.failed}/${r.requests}; creates ${p.creates.requests - p.creates.failed}/${p.creates.requests} ok; p99 ${r.p99Ms === null ? "–" : `${r.p99Ms.toFixed(1)} ms`}`;
  }
  return {
    scenario: "fallback",
    seconds: (performance.now() - started) / 1000,
    settings: { tool: ctx.load.tool, affected_shard: AFFECTED, hot, cold, hot_share: HOT_SHARE, phases: phases.map((p) => `${p.name}:${p.seconds}s`).join(" ") },
    summary,
    runs: { phases: results, probe },
    checks: c.checks,
    targets: c.targets,
    notes: [
      "Faults: Redis SIGKILL; PostgreSQL `pg_ctl stop -m immediate`; each restarted on the same port and data. The Redis kill comes between phases, after its codes were invalidated with no load running (wrk mode); the other actions run ~0.5 s into their phase, with load running. The next fault waits until the app's breaker for the restarted node is closed (*_back_after_ms), so one node is down at a time; /health/ready is polled every second as HAProxy does (it probes every node through its breaker).",
      "The event bus and cluster metrics use shard 0's Redis (EVENT_BUS_REDIS unset), so events are not delivered while it is down; redirects do not depend on it.",
    ],
  };
}

/** Publishes an invalidation of `codes` on the app's bus (shard 0's Redis): every instance drops them from its hot-link cache. */
async function invalidate(busUrl: string, codes: readonly string[]): Promise<void> {
  const r = new Redis(busUrl, { maxRetriesPerRequest: 1 });
  try {
    for (let i = 0; i < codes.length; i += 1000) await r.publish(INVALIDATION_CHANNEL, codes.slice(i, i + 1000).join(" "));
  } finally {
    r.disconnect();
  }
}

/** Polls /metrics of every instance until the node's breaker is closed (0); false on timeout. */
async function breakerClosed(urls: readonly string[], node: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const all = await Promise.all(urls.map((u) => scrape([u])));
    if (all.every((m) => m.get(`shorten_breaker_state{node="${node}"}`) === 0)) return true;
    await Bun.sleep(100);
  }
  return false;
}

function fmtSources(sources: Record<string, number>): string {
  return Object.entries(sources)
    .filter(([k]) => !k.endsWith(":redis") && !k.endsWith(":memory"))
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
}

/** wrk: one redirects run and one creates run per phase, concurrently; the action fires 0.5 s in. */
async function wrkPhases(ctx: Ctx, phases: readonly Phase[], codesFile: string): Promise<PhaseResult[]> {
  const out: PhaseResult[] = [];
  const conns = ctx.args.smoke ? 4 : 8;
  for (const p of phases) {
    let actionMs: number | null = null;
    await p.before?.();
    const m = await measured(instanceUrls(ctx), async () => {
      const reds = redirectsMax(ctx.load, { label: `fallback-${p.name}`, url: ctx.stack.oursUrl, codesFile, hotShare: HOT_SHARE, connections: conns, durationS: p.seconds });
      const creates = createsMax(ctx.load, { label: `fallback-creates-${p.name}`, url: ctx.stack.oursUrl, repeatsFile: "", repeatShare: 0, connections: 2, durationS: p.seconds, runId: `f${process.pid}${p.name}` });
      if (p.action) {
        await Bun.sleep(500);
        const t = performance.now();
        await p.action();
        actionMs = performance.now() - t;
      }
      return Promise.all([reds, creates]);
    });
    await p.after?.();
    const [r, cr] = m.result;
    out.push({
      name: p.name,
      seconds: p.seconds,
      redirects: { requests: r.requests, failed: r.failed, hit: r.counts.hit ?? 0, miss: r.counts.miss ?? 0, p99Ms: r.latencyMs.p99, sources: r.sources, status: r.status },
      creates: { requests: cr.requests, failed: cr.failed, shards: cr.shards, status: cr.status },
      backend: m.backend,
      actionMs,
    });
  }
  return out;
}
