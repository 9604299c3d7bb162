#!/usr/bin/env bun
/**
 * Partition drills (root: ip netns) on a durable 2-shard cluster under pg_auto_failover whose
 * shard 1 nodes each run in a network namespace of their own: `bun bench/partition.ts [--runs N (5)]`.
 *
 * N times, under create load: shard 1's primary's link taken down (its processes keep running);
 * the time until the monitor has promoted the standby and until a create sent after the cut
 * lands on shard 1 again; a write tried on the cut-off primary from its side of the cut (it must
 * not be acknowledged); then the link healed, the time until the old primary is the standby
 * again, and whether it and the new primary hold every acknowledged create and not the
 * unacknowledged write. The next run cuts whichever is primary then.
 *
 * Writes bench/results/<stamp>-partition.md.
 */
import postgres from "postgres";
import { clusterDir, clusterDown, clusterEnvVars, clusterUpOnFreePorts, currentPrimary, findNode, keeperName, readState, REPO_ROOT, waitForStates, type ClusterState, type NodeState } from "../scripts/cluster/index";
import { asPgUser, run } from "../scripts/cluster/exec";
import { pairUrl } from "../scripts/cluster/ha-up";
import { inNetns, setPartitioned } from "../scripts/cluster/netns";
import { startServer } from "../harness/server-process";
import { numberFlag } from "./lib/args";
import { writeDrillReport } from "./lib/report";
import { INSTANCE_ENV } from "./lib/stack";

const RUNS = numberFlag(Bun.argv, "runs", 5);
const NAME = `partition-bench-${process.pid}`;
const SHARD = 1;

if (process.getuid?.() !== 0) throw new Error("partition drills need root (ip netns)");
await clusterUpOnFreePorts({ name: NAME, shards: 2, firstBase: 28_500, slots: 20, fast: false, ha: true, netnsShards: [SHARD] });
const state: ClusterState = readState(clusterDir(REPO_ROOT, NAME));
const server = await startServer({ ...clusterEnvVars(state), ...INSTANCE_ENV, INSTANCE_ID: "46", DB_TIMEOUT_MS: "500", BREAKER_COOLDOWN_MS: "300", LOG_LEVEL: "error" });
const writer = postgres(pairUrl(state, SHARD, "primary"), { max: 1, onnotice: () => {} });
await writer`create table if not exists partition_probe (note text)`;
await writer.end({ timeout: 2 });

interface Drill {
  promoted: number;
  resumed: number;
  rejoined: number;
  acknowledged: number;
  lost: number;
  serverErrors: number;
  probeAcknowledged: boolean;
  probeRowsAfter: number;
}

async function count(node: NodeState, query: (sql: postgres.Sql) => Promise<number>): Promise<number> {
  const sql = postgres(node.url, { max: 1, connect_timeout: 5, onnotice: () => {} });
  try {
    return await query(sql);
  } finally {
    await sql.end({ timeout: 2 });
  }
}

async function drill(runIndex: number): Promise<Drill> {
  const cutRole = (await currentPrimary(state, SHARD))!;
  const cut = findNode(state, SHARD, cutRole);
  const survivor = findNode(state, SHARD, cutRole === "primary" ? "replica" : "primary");
  const acks: string[] = [];
  let cutAt = 0;
  let resumed = 0;
  let serverErrors = 0;
  let stop = false;
  const loop = async (worker: number) => {
    for (let i = 0; !stop; i++) {
      const sent = performance.now();
      const res = await fetch(`${server.url}/create`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ url: `https://partition.bench/${process.pid}/${runIndex}/${worker}/${i}` }) });
      if (res.status >= 500) serverErrors++;
      if (res.status !== 201 || Number(res.headers.get("x-shard")) !== SHARD) continue;
      acks.push(((await res.json()) as { short_code: string }).short_code);
      if (cutAt > 0 && sent > cutAt && resumed === 0) resumed = performance.now();
    }
  };
  const loops = [0, 1, 2, 3].map(loop);
  await Bun.sleep(1000);
  await setPartitioned(cut, true);
  cutAt = performance.now();
  const note = `run ${runIndex}`;
  const psql = asPgUser(["timeout", "5", "psql", "-h", "127.0.0.1", "-p", String(cut.port), "-d", "shorten", "-v", "ON_ERROR_STOP=1", "-c", `insert into partition_probe values ('${note}')`]);
  const probe = run(inNetns(cut, psql), { timeoutMs: 15_000 });
  while ((await currentPrimary(state, SHARD)) !== (cutRole === "primary" ? "replica" : "primary") && performance.now() - cutAt < 120_000) await Bun.sleep(100);
  const promoted = performance.now();
  while (resumed === 0 && performance.now() - cutAt < 120_000) await Bun.sleep(50);
  const probed = await probe;
  stop = true;
  await Promise.all(loops);
  await setPartitioned(cut, false);
  const healedAt = performance.now();
  await waitForStates(state, { [keeperName(cut)]: ["secondary"] }, 180_000);
  const rejoined = performance.now();
  const onSurvivor = await count(survivor, async (sql) => (await sql`select count(*)::int as n from links where code = any(${acks})`)[0]!.n as number);
  let probeRowsAfter = 0;
  for (const node of [cut, survivor]) probeRowsAfter += await count(node, async (sql) => (await sql`select count(*)::int as n from partition_probe where note = ${note}`)[0]!.n as number);
  return {
    promoted: (promoted - cutAt) / 1000,
    resumed: resumed === 0 ? Number.NaN : (resumed - cutAt) / 1000,
    rejoined: (rejoined - healedAt) / 1000,
    acknowledged: acks.length,
    lost: acks.length - onSurvivor,
    serverErrors,
    probeAcknowledged: probed.code === 0 && probed.stdout.includes("INSERT 0 1"),
    probeRowsAfter,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const spread = (xs: number[]) => `p50 **${median(xs).toFixed(1)} s**, max **${Math.max(...xs).toFixed(1)} s** (${xs.map((x) => x.toFixed(1)).join(", ")})`;
try {
  const drills: Drill[] = [];
  for (let i = 0; i < RUNS; i++) {
    const d = await drill(i);
    drills.push(d);
    console.log(`drill ${i + 1}: promoted after ${d.promoted.toFixed(1)} s, creates on shard ${SHARD} again after ${d.resumed.toFixed(1)} s, rejoined ${d.rejoined.toFixed(1)} s after healing; ${d.acknowledged} acknowledged, ${d.lost} lost, ${d.serverErrors} 5xx; the cut-off primary's write ${d.probeAcknowledged ? "ACKNOWLEDGED" : "not acknowledged"}, ${d.probeRowsAfter} rows of it after the rejoin`);
  }
  const report = [
    "# Partitions under pg_auto_failover",
    "",
    `${new Date().toISOString()}: a durable 2-shard cluster, shard ${SHARD}'s two nodes each in a network namespace of its own, one Shorten instance, 4 create loops; the primary's link taken down ${RUNS} times.`,
    "",
    `- standby promoted after the cut: ${spread(drills.map((d) => d.promoted))}`,
    `- creates on shard ${SHARD} again after the cut: ${spread(drills.map((d) => d.resumed))}`,
    `- old primary the standby again after the heal: ${spread(drills.map((d) => d.rejoined))}`,
    `- acknowledged creates on the shard ${drills.map((d) => d.acknowledged).join(", ")}; lost ${drills.reduce((n, d) => n + d.lost, 0)}; answered 5xx ${drills.reduce((n, d) => n + d.serverErrors, 0)}`,
    `- writes on the cut-off primary acknowledged: ${drills.filter((d) => d.probeAcknowledged).length} of ${RUNS}; their rows on either node after the rejoin: ${drills.reduce((n, d) => n + d.probeRowsAfter, 0)}`,
  ].join("\n");
  writeDrillReport("partition", report);
} finally {
  await server.stop();
  await clusterDown({ name: NAME, wipe: true });
}
