import type { Ctx } from "./context";
import { runK6 } from "./k6";
import type { Phase, PhaseResult } from "./scenario-fallback";

const LEAD_MS = 3000;

/**
 * k6 mode of the fallback scenario: one bench/k6/fallback.ts run covers every phase (it tags each
 * answer with the phase its clock says, from START_AT), while this process fires the faults on
 * the same clock. Per-phase figures come from the tagged submetrics the script declares.
 */
export async function k6Phases(ctx: Ctx, phases: readonly Phase[], codesFile: string, hotShare: number): Promise<PhaseResult[]> {
  const startAt = Date.now() + LEAD_MS;
  const env = {
    BASE_URL: ctx.stack.oursUrl,
    CODES_FILE: codesFile,
    HOT_SHARE: String(hotShare),
    RATE: ctx.args.smoke ? "200" : "1500",
    CREATE_RATE: ctx.args.smoke ? "10" : "30",
    PHASES: phases.map((p) => `${p.name}:${p.seconds}`).join(","),
    START_AT: String(startAt),
    AFFECTED_SHARD: "0",
    HIT_RATE_FLOOR: String(ctx.args.hitRateFloor),
  };
  const run = runK6("fallback", env, ctx.workDir, "fallback");
  const actionMs: Record<string, number> = {};
  let offset = 0;
  for (const p of phases) {
    const start = startAt + offset * 1000;
    offset += p.seconds;
    if (p.before) {
      await Bun.sleep(Math.max(0, start - Date.now()));
      await p.before();
    }
    if (!p.action) continue;
    await Bun.sleep(Math.max(0, start + 500 - Date.now()));
    const t = performance.now();
    await p.action();
    actionMs[p.name] = performance.now() - t;
  }
  const { data } = await run;
  const value = (metric: string, stat: string) => data.metrics[metric]?.values[stat] ?? 0;
  return phases.map((p) => {
    const sources: Record<string, number> = {};
    const shards: Record<string, number> = {};
    for (const [name, m] of Object.entries(data.metrics)) {
      const read = new RegExp(`^reads\\{phase:${p.name},shard:(\\w+),source:(\\w+)\\}$`).exec(name);
      if (read && (m.values.count ?? 0) > 0) sources[`${read[1]}:${read[2]}`] = m.values.count ?? 0;
      const created = new RegExp(`^created_per_shard\\{phase:${p.name},shard:(\\w+)\\}$`).exec(name);
      if (created && (m.values.count ?? 0) > 0) shards[created[1]!] = m.values.count ?? 0;
    }
    const ok = `redirect_ok{phase:${p.name}}`;
    const cok = `create_ok{phase:${p.name}}`;
    const hit = `cache_hit{phase:${p.name}}`;
    return {
      name: p.name,
      seconds: p.seconds,
      redirects: { requests: value(ok, "passes") + value(ok, "fails"), failed: value(ok, "fails"), hit: value(hit, "passes"), miss: value(hit, "fails"), p99Ms: null, sources, status: {} },
      creates: { requests: value(cok, "passes") + value(cok, "fails"), failed: value(cok, "fails"), shards, status: {} },
      backend: null,
      actionMs: actionMs[p.name] ?? null,
    };
  });
}
