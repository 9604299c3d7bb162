#!/usr/bin/env bun
/**
 * Failover drills on a durable (fsync on) 2-shard cluster under pg_auto_failover:
 * `bun bench/failover.ts [--runs N (5)] [--rounds R (3)] [--seconds S (8)]`.
 *
 * 1. Synchronous against asynchronous replication, same run: durable creates/s and p99 (wrk
 *    -c32, unique URLs) with every standby in the write quorum (the engine's default) and with
 *    none (`pg_autoctl set node replication-quorum false`), alternating, R rounds each.
 * 2. N times: under create load, the primary of shard 1 killed (its keeper's process group and
 *    backends, SIGKILL); the time until a create sent after the kill lands on shard 1 again, and
 *    whether every acknowledged create is on the promoted primary. The killed node is started
 *    again and rejoins as the standby before the next run, which kills whichever is primary then.
 *
 * Writes bench/results/<stamp>-failover.md.
 */
import postgres from "postgres";
import { clusterDir, clusterDown, clusterEnvVars, clusterUpOnFreePorts, currentPrimary, findNode, keeperName, readState, REPO_ROOT, startNode, stopNode, waitForStates, type ClusterState } from "../scripts/cluster/index";
import { autoctl } from "../scripts/cluster/ha-engine";
import { runOk } from "../scripts/cluster/exec";
import { startServer } from "../harness/server-process";
import { numberFlag } from "./lib/args";
import { writeDrillReport } from "./lib/report";
import { INSTANCE_ENV } from "./lib/stack";
import { runWrk } from "./lib/wrk";

const RUNS = numberFlag(Bun.argv, "runs", 5);
const ROUNDS = numberFlag(Bun.argv, "rounds", 3);
const SECONDS = numberFlag(Bun.argv, "seconds", 8);
const NAME = `failover-bench-${process.pid}`;
const SHARD = 1;

await clusterUpOnFreePorts({ name: NAME, shards: 2, firstBase: 30_500, slots: 20, fast: false, ha: true });
const state: ClusterState = readState(clusterDir(REPO_ROOT, NAME));
const server = await startServer({ ...clusterEnvVars(state), ...INSTANCE_ENV, INSTANCE_ID: "45", DB_TIMEOUT_MS: "500", BREAKER_COOLDOWN_MS: "300", LOG_LEVEL: "error" });

/** Puts every standby in or out of the write quorum and waits until each primary says so. */
async function setSync(sync: boolean): Promise<void> {
  for (let shard = 0; shard < state.shards; shard++) {
    const primary = await currentPrimary(state, shard);
    const standby = findNode(state, shard, primary === "primary" ? "replica" : "primary");
    await runOk(autoctl(state, ["set", "node", "replication-quorum", String(sync), "--pgdata", standby.dataDir]));
    const sql = postgres(findNode(state, shard, primary!).url, { max: 1, onnotice: () => {} });
    try {
      for (let i = 0; i < 100; i++) {
        const [row] = await sql<Array<{ names: string }>>`select current_setting('synchronous_standby_names') as names`;
        if ((row!.names !== "") === sync) break;
        await Bun.sleep(100);
      }
    } finally {
      await sql.end({ timeout: 2 });
    }
  }
  await settled();
}

/** Every pair back to one primary and one secondary, as the monitor settled them. */
function settled(): Promise<void> {
  const want = Object.fromEntries(state.nodes.filter((n) => n.keeper).map((n) => [keeperName(n), ["primary", "secondary"]]));
  return waitForStates(state, want, 120_000);
}

async function creates(label: string) {
  const r = await runWrk({ label, url: server.url, script: "creates", env: { REPEATS_FILE: "", REPEAT_SHARE: "0", RUN_ID: `${process.pid}-${label.replace(/\W+/g, "-")}` }, connections: 32, durationS: SECONDS });
  return { rps: r.rps, p99: r.latencyMs.p99, failed: r.failed };
}

interface Drill {
  seconds: number;
  acknowledged: number;
  lost: number;
  serverErrors: number;
}

/** Kills shard 1's primary under create load; measures until creates land on the shard again. */
async function drill(run: number): Promise<Drill> {
  const killed = (await currentPrimary(state, SHARD))!;
  const acks: Array<{ code: string; url: string }> = [];
  let killDone = 0;
  let resumed = 0;
  let serverErrors = 0;
  let stop = false;
  const loop = async (worker: number) => {
    for (let i = 0; !stop; i++) {
      const url = `https://failover.bench/${process.pid}/${run}/${worker}/${i}`;
      const sent = performance.now();
      const res = await fetch(`${server.url}/create`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ url }) });
      if (res.status >= 500) serverErrors++;
      if (res.status !== 201) continue;
      const shard = Number(res.headers.get("x-shard"));
      const { short_code } = (await res.json()) as { short_code: string };
      if (shard === SHARD) acks.push({ code: short_code, url });
      if (shard === SHARD && killDone > 0 && sent > killDone && resumed === 0) resumed = performance.now();
    }
  };
  const loops = [0, 1, 2, 3].map(loop);
  await Bun.sleep(1000);
  const killedAt = performance.now();
  await stopNode(state, SHARD, killed, "kill");
  killDone = performance.now();
  while (resumed === 0 && performance.now() - killedAt < 90_000) await Bun.sleep(50);
  stop = true;
  await Promise.all(loops);
  const survivor = findNode(state, SHARD, killed === "primary" ? "replica" : "primary");
  const sql = postgres(survivor.url, { max: 1, onnotice: () => {} });
  const stored = new Set((await sql<Array<{ code: string }>>`select code from links where code = any(${acks.map((a) => a.code)})`).map((r) => r.code));
  await sql.end({ timeout: 2 });
  await startNode(state, SHARD, killed);
  await settled();
  return { seconds: resumed === 0 ? Number.NaN : (resumed - killedAt) / 1000, acknowledged: acks.length, lost: acks.filter((a) => !stored.has(a.code)).length, serverErrors };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
try {
  await creates("warm-up");
  const modes: Record<"sync" | "async", Array<{ rps: number; p99: number; failed: number }>> = { sync: [], async: [] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of round % 2 === 0 ? (["sync", "async"] as const) : (["async", "sync"] as const)) {
      await setSync(mode === "sync");
      const r = await creates(`${mode} ${round + 1}`);
      modes[mode].push(r);
      console.log(`${mode} round ${round + 1}: ${Math.round(r.rps)} creates/s, p99 ${r.p99.toFixed(1)} ms, ${r.failed} failed`);
    }
  }
  await setSync(true);
  const drills: Drill[] = [];
  for (let run = 0; run < RUNS; run++) {
    const d = await drill(run);
    drills.push(d);
    console.log(`drill ${run + 1}: creates on shard ${SHARD} again after ${d.seconds.toFixed(1)} s; ${d.acknowledged} acknowledged on the shard, ${d.lost} lost, ${d.serverErrors} answered 5xx`);
  }
  const times = drills.map((d) => d.seconds);
  const row = (mode: "sync" | "async") => `| ${mode === "sync" ? "synchronous (the engine's default: the standby in the write quorum)" : "asynchronous (`replication-quorum false`)"} | ${Math.round(median(modes[mode].map((r) => r.rps))).toLocaleString("en")} (${modes[mode].map((r) => Math.round(r.rps)).join(", ")}) | ${median(modes[mode].map((r) => r.p99)).toFixed(1)} ms (${modes[mode].map((r) => r.p99.toFixed(1)).join(", ")}) |`;
  const report = [
    "# Failover under pg_auto_failover",
    "",
    `${new Date().toISOString()}: a durable (fsync on) 2-shard cluster, each pair under pg_auto_failover, one Shorten instance.`,
    "",
    `Creates, wrk -c32 for ${SECONDS} s, unique URLs, ${ROUNDS} rounds each, alternating (medians, then the rounds):`,
    "",
    "| replication | creates/s | p99 |",
    "| --- | --- | --- |",
    row("sync"),
    row("async"),
    "",
    `Synchronous over asynchronous: **${(median(modes.sync.map((r) => r.rps)) / median(modes.async.map((r) => r.rps))).toFixed(2)}x** the creates/s.`,
    "",
    `Shard ${SHARD}'s primary killed ${RUNS} times under 4 create loops (keeper's process group and backends, SIGKILL): creates on the shard again after p50 **${median(times).toFixed(1)} s**, max **${Math.max(...times).toFixed(1)} s** (${times.map((t) => t.toFixed(1)).join(", ")}); acknowledged creates on the shard ${drills.map((d) => d.acknowledged).join(", ")}, lost ${drills.reduce((n, d) => n + d.lost, 0)}; answered 5xx ${drills.reduce((n, d) => n + d.serverErrors, 0)}.`,
  ].join("\n");
  writeDrillReport("failover", report);
} finally {
  await server.stop();
  await clusterDown({ name: NAME, wipe: true });
}
