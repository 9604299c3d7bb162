import { join } from "node:path";
import { attributionTable, LAYERS, runAttribution } from "./attribution";
import type { Ctx, ScenarioReport } from "./context";
import { median, round } from "./load-result";
import { seedRedirectCodes, writeCodesFile } from "./seed";

/**
 * Where the CPU of a cached redirect goes (bench/lib/attribution.ts): the floor, the app's
 * modules in growing layers, and the full app, each alone under the same wrk load. Reported,
 * never a threshold.
 */
export async function attributionScenario(ctx: Ctx): Promise<ScenarioReport> {
  const { args, stack, log } = ctx;
  const started = performance.now();
  let codes = ctx.shared.redirectCodes?.filter((c) => c.hot);
  if (!codes || codes.length === 0) codes = await seedRedirectCodes(stack.oursUrl, stack.shards, 200, 0, `a${process.pid}`);
  const codesFile = writeCodesFile(join(ctx.workDir, "codes-attribution.txt"), codes);
  const seconds = args.smoke ? 1 : 5;
  const repeat = args.smoke ? 1 : 2;
  const rows = await runAttribution({ env: stack.env, codesFile, redisPids: stack.redisPids, seconds, connections: args.connections, repeat, log });
  const summary: Record<string, number | string | null> = {};
  for (const row of rows) summary[row.layer] = `${round(median(row.us_per_req), 1)} µs CPU/req, ${round(median(row.rps), 0)} req/s`;
  return {
    scenario: "attribution",
    seconds: (performance.now() - started) / 1000,
    settings: { connections: args.connections, seconds, repeat, layers: LAYERS.length },
    summary,
    runs: { rows },
    checks: [],
    targets: [],
    notes: [
      "Each layer runs alone (its own process, same cluster, hot codes all cached) under wrk; server CPU per request from /proc is steadier than req/s on a shared box. The difference between two rows is what that layer costs; single runs vary by about ±3 µs.",
      "Layers from bench/lib/variant-server.ts assemble the app's own modules (NodePolicy, LinkService, CacheMetrics/EventFactory/EventBus, Elysia, the request metrics compose.ts takes around app.fetch); The floor uses the app's own Redis client options (createRedisNode); the second row shows ioredis defaults.",
    ],
    markdown: attributionTable(rows),
  };
}
