import { join } from "node:path";
import { measured, type BackendDelta } from "./backend-metrics";
import { Checks } from "./checks";
import { instanceUrls, type Ctx, type ScenarioReport } from "./context";
import { connectWsClient } from "./dashboard-client";
import { runK6 } from "./k6";
import { redirectsMax } from "./load";
import { cpuRun, median, medianRun, round, type LoadResult } from "./load-result";
import { seedRedirectCodes, writeCodesFile } from "./seed";
import type { WsClientReport } from "./ws-client";

/**
 * What a WebSocket subscriber costs: cached-redirect throughput with one dashboard-like client
 * (topics events,metrics) connected vs none, interleaved in the same run (ABBA order), medians
 * compared. The client checks every event it gets against the schema.
 */
export async function eventsScenario(ctx: Ctx): Promise<ScenarioReport> {
  const { args, stack, log } = ctx;
  const started = performance.now();
  const c = new Checks("events");
  let codes = ctx.shared.redirectCodes?.filter((x) => x.hot);
  if (!codes || codes.length === 0) codes = await seedRedirectCodes(stack.oursUrl, stack.shards, args.smoke ? 50 : 200, 0, `e${process.pid}`);
  const codesFile = writeCodesFile(join(ctx.workDir, "codes-events.txt"), codes);
  const base = { codesFile, hotShare: 1, connections: args.connections, url: stack.oursUrl, durationS: args.duration };

  await redirectsMax(ctx.load, { ...base, label: "warmup", durationS: 1 });
  const none: LoadResult[] = [];
  const withSub: LoadResult[] = [];
  const subReports: Array<WsClientReport & { cpu_ms: number }> = [];
  const backend: BackendDelta[] = [];
  for (let r = 0; r < args.rounds; r++) {
    for (const who of r % 2 === 0 ? ["none", "sub"] : ["sub", "none"]) {
      if (who === "none") {
        none.push(await cpuRun(stack.oursPids, [], () => redirectsMax(ctx.load, { ...base, label: `no-subscriber-${r + 1}` })));
      } else {
        const client = await connectWsClient(stack.oursUrl, "events,metrics");
        let result: LoadResult;
        try {
          const m = await measured(instanceUrls(ctx), () => cpuRun(stack.oursPids, [], () => redirectsMax(ctx.load, { ...base, label: `subscriber-${r + 1}` })));
          result = m.result;
          backend.push(m.backend);
          // Batches are flushed every EVENT_FLUSH_MS: let the last ones arrive before counting.
          await Bun.sleep(300);
        } finally {
          subReports.push(await client.stop());
        }
        withSub.push(result);
      }
      const last = who === "none" ? none[none.length - 1]! : withSub[withSub.length - 1]!;
      log(`  ${last.label}: ${last.rps.toFixed(0)} req/s, p99 ${last.latencyMs.p99.toFixed(2)} ms, server CPU ${last.cpu?.server_us_per_req.toFixed(1)} µs/req${who === "sub" ? `, events ${subReports[subReports.length - 1]!.events}` : ""}`);
    }
  }
  // With k6 on PATH, its own WebSocket client checks the schema too (bench/k6/events.ts).
  let k6Failed: string[] = [];
  if (ctx.load.tool === "k6") {
    const o = await runK6("events", { BASE_URL: stack.oursUrl, CODES_FILE: codesFile, RATE: args.smoke ? "100" : "1000", DURATION: String(args.duration) }, ctx.workDir, "events");
    k6Failed = o.failedThresholds;
    c.eq("k6 events.ts thresholds failed", k6Failed.length, 0);
  }

  const noneRps = median(none.map((r) => r.rps));
  const subRps = median(withSub.map((r) => r.rps));
  const ratio = subRps / noneRps;
  const events = subReports.reduce((n, s) => n + s.events, 0);
  const reads = subReports.reduce((n, s) => n + s.reads, 0);
  const requests = withSub.reduce((n, r) => n + r.requests, 0);
  const drops = backend.reduce((n, b) => n + b.event_drops, 0);
  c.atLeast("events received by the subscriber", events, 1);
  c.eq("events failing the schema (every event checked; zod on 1 in 50)", subReports.reduce((n, s) => n + s.schema_errors + s.zod_errors, 0), 0);
  c.atLeast("metrics messages received", subReports.reduce((n, s) => n + s.metrics_messages, 0), 1);
  c.eq("failed redirects", [...none, ...withSub].reduce((n, r) => n + r.failed, 0), 0);
  if (!args.smoke) c.target("redirect req/s with a subscriber / without", ratio, ">=", 0.9);

  return {
    scenario: "events",
    seconds: (performance.now() - started) / 1000,
    settings: { tool: ctx.load.tool, connections: args.connections, duration_s: args.duration, rounds: args.rounds, codes: codes.length, topics: "events,metrics" },
    summary: {
      no_subscriber_rps: round(noneRps, 0),
      subscriber_rps: round(subRps, 0),
      ratio_subscriber_to_none: round(ratio, 3),
      round_ratios: withSub.map((s, i) => round(s.rps / none[i]!.rps, 3)).join(" "),
      subscriber_cpu_us_per_req: round(median(withSub.map((r) => r.cpu?.server_us_per_req ?? Number.NaN)), 1),
      no_subscriber_cpu_us_per_req: round(median(none.map((r) => r.cpu?.server_us_per_req ?? Number.NaN)), 1),
      subscriber_p99_ms: round(medianRun(withSub).latencyMs.p99, 3),
      no_subscriber_p99_ms: round(medianRun(none).latencyMs.p99, 3),
      events_received: events,
      read_events_per_request: requests === 0 ? null : round(reads / requests, 4),
      server_event_drops: drops,
      client_cpu_us_per_event: events === 0 ? null : round((1000 * subReports.reduce((n, s) => n + s.cpu_ms, 0)) / events, 2),
      client_cores: round(subReports.reduce((n, s) => n + s.cpu_ms, 0) / 1000 / withSub.reduce((n, r) => n + r.seconds, 0), 2),
      schema_errors: subReports.reduce((n, s) => n + s.schema_errors + s.zod_errors, 0),
    },
    runs: { none, withSub, subscribers: subReports, backend, k6Failed },
    checks: c.checks,
    targets: c.targets,
    notes: [
      "With no subscriber anywhere the app builds no events at all (the bus only serialises while someone here or on another instance listens); with one, every read becomes an event that is serialised, batched every EVENT_FLUSH_MS and sent. The ratio prices that, plus the client's own CPU (client_cores) on this shared 2-core box.",
    ],
  };
}
