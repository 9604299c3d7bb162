import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { clusterDir, clusterDown, clusterEnvVars, clusterUpOnFreePorts, currentPrimary, findNode, keeperName, readState, REPO_ROOT, waitForStates, type ClusterState, type NodeState, type Role } from "../../scripts/cluster/index";
import { asPgUser, run } from "../../scripts/cluster/exec";
import { inNetns, setPartitioned } from "../../scripts/cluster/netns";
import { pairUrl } from "../../scripts/cluster/ha-up";
import { eventually, startServer, type ServerProcess } from "../../harness/server-process";

/**
 * A network partition, not a crash: shard 1's two PostgreSQL nodes each run in a Linux network
 * namespace of their own, on a bridge where the app and the pg_auto_failover monitor reach them.
 * Its primary's link is cut under create and redirect load, its processes still running: the
 * monitor promotes the standby, the cut-off primary acknowledges no write (synchronous
 * replication: its commits wait for a standby it cannot reach, and its keeper, alone, demotes
 * it), nothing the app acknowledged is lost; healed, it rejoins as the standby with every write.
 */
const NAME = `partition-${process.pid}`;
const SHARD = 1;

interface Ack {
  code: string;
  url: string;
  shard: number;
  sent: number;
}

let state: ClusterState;
let server: ServerProcess;
let cutNode: NodeState;
let survivorRole: Role;
const acknowledged: Ack[] = [];
const createStatuses = new Map<number, number>();
const redirectStatuses = new Map<number, number>();
let cutAt = 0;
let promotedAfterMs = 0;
let resumedAfterMs = 0;
/** Writes tried on the cut-off primary from its side of the cut: at once, and after the promotion. */
const oldPrimaryWrites: Array<{ when: string; code: number; output: string }> = [];

const count = (m: Map<number, number>, status: number) => m.set(status, (m.get(status) ?? 0) + 1);

async function create(url: string): Promise<Ack | null> {
  const sent = performance.now();
  const res = await fetch(`${server.url}/create`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ url }) });
  count(createStatuses, res.status);
  if (res.status !== 201) return null;
  const ack = { code: ((await res.json()) as { short_code: string }).short_code, url, shard: Number(res.headers.get("x-shard")), sent };
  acknowledged.push(ack);
  return ack;
}

/** The codes of `codes` stored on one node, asked directly (a standby answers too). */
async function storedOn(node: NodeState, codes: string[]): Promise<Set<string>> {
  const sql = postgres(node.url, { max: 1, connect_timeout: 5, onnotice: () => {} });
  try {
    return new Set((await sql<Array<{ code: string }>>`select code from links where code = any(${codes})`).map((r) => r.code));
  } finally {
    await sql.end({ timeout: 2 });
  }
}

/** A client of the old primary, on its side of the cut, that waits 5 s for its write to be acknowledged. */
async function writeOnCutOffPrimary(when: string): Promise<void> {
  const psql = asPgUser(["timeout", "5", "psql", "-h", "127.0.0.1", "-p", String(cutNode.port), "-d", "shorten", "-v", "ON_ERROR_STOP=1", "-c", `insert into partition_probe values ('${when}')`]);
  const probe = await run(inNetns(cutNode, psql), { timeoutMs: 15_000 });
  oldPrimaryWrites.push({ when, code: probe.code, output: `${probe.stdout}${probe.stderr}`.trim().split("\n")[0] ?? "" });
}

describe("a primary cut off by a network partition", () => {
  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error("partition drills need root (ip netns); CI runs as root");
    await clusterUpOnFreePorts({ name: NAME, shards: 2, firstBase: 27_080, slots: 57, ha: true, netnsShards: [SHARD] });
    state = readState(clusterDir(REPO_ROOT, NAME));
    server = await startServer({ ...clusterEnvVars(state), INSTANCE_ID: "43", RATE_LIMIT_ENABLED: "false", DB_TIMEOUT_MS: "500", BREAKER_COOLDOWN_MS: "300" });
    const writer = postgres(pairUrl(state, SHARD, "primary"), { max: 1, onnotice: () => {} });
    await writer`create table partition_probe (note text)`;
    await writer.end({ timeout: 2 });
    const seeded: Ack[] = [];
    for (let i = 0; seeded.length < 10 && i < 200; i++) {
      const ack = await create(`https://partition.example/seed/${process.pid}/${i}`);
      if (ack?.shard === SHARD) seeded.push(ack);
    }
    if (seeded.length < 10) throw new Error(`could not seed shard ${SHARD}: ${JSON.stringify([...createStatuses])}`);

    let stop = false;
    const creator = async (worker: number) => {
      for (let i = 0; !stop; i++) {
        const ack = await create(`https://partition.example/load/${process.pid}/${worker}/${i}`).catch(() => null);
        if (ack && cutAt > 0 && ack.sent > cutAt && ack.shard === SHARD && resumedAfterMs === 0) resumedAfterMs = performance.now() - cutAt;
      }
    };
    const redirector = async () => {
      for (let i = 0; !stop; i++) count(redirectStatuses, (await fetch(`${server.url}/${seeded[i % seeded.length]!.code}`, { redirect: "manual" })).status);
    };
    const load = [0, 1, 2].map(creator).concat([redirector()]);
    await Bun.sleep(1500);

    const cutRole = (await currentPrimary(state, SHARD))!;
    survivorRole = cutRole === "primary" ? "replica" : "primary";
    cutNode = findNode(state, SHARD, cutRole);
    await setPartitioned(cutNode, true);
    cutAt = performance.now();
    const early = writeOnCutOffPrimary("at once");
    await eventually(async () => ((await currentPrimary(state, SHARD)) === survivorRole ? true : undefined), `shard ${SHARD}'s standby promoted`, 90_000);
    promotedAfterMs = performance.now() - cutAt;
    await eventually(async () => (resumedAfterMs > 0 ? true : undefined), `creates on shard ${SHARD} resumed`, 30_000);

    await Promise.all([early, writeOnCutOffPrimary("after the promotion")]);
    stop = true;
    await Promise.all(load);
  }, 240_000);

  afterAll(async () => {
    await server?.stop();
    await clusterDown({ name: NAME, wipe: true });
  }, 60_000);

  test("the standby is promoted, and creates for the shard resume on it", () => {
    console.log(`partition: standby promoted ${(promotedAfterMs / 1000).toFixed(1)} s after the cut, creates on shard ${SHARD} resumed after ${(resumedAfterMs / 1000).toFixed(1)} s; creates ${JSON.stringify([...createStatuses])}, redirects ${JSON.stringify([...redirectStatuses])}`);
    expect(resumedAfterMs).toBeGreaterThan(0);
    expect([...createStatuses.keys()].filter((s) => s >= 500)).toEqual([]);
    expect([...redirectStatuses.keys()]).toEqual([302]);
  });

  test("the cut-off primary acknowledges no write, before the promotion or after it", () => {
    for (const w of oldPrimaryWrites) console.log(`partition: a write on the cut-off primary ${w.when}: exit ${w.code}${w.code === 124 ? " (no answer in 5 s)" : ""} ${w.output}`);
    expect(oldPrimaryWrites.map((w) => w.when).sort()).toEqual(["after the promotion", "at once"]);
    for (const w of oldPrimaryWrites) {
      expect(w.code).not.toBe(0);
      expect(w.output).not.toContain("INSERT 0 1");
    }
  });

  test("every create the app acknowledged is on the promoted primary", async () => {
    const onShard = acknowledged.filter((a) => a.shard === SHARD);
    expect(onShard.filter((a) => a.sent > cutAt).length).toBeGreaterThan(0);
    const stored = await storedOn(findNode(state, SHARD, survivorRole), onShard.map((a) => a.code));
    expect(onShard.filter((a) => !stored.has(a.code)).map((a) => a.code)).toEqual([]);
  }, 30_000);

  test("healed, the old primary rejoins as the standby with every acknowledged create, and without the write nobody acknowledged", async () => {
    await setPartitioned(cutNode, false);
    await waitForStates(state, { [keeperName(cutNode)]: ["secondary"] }, 90_000);
    const codes = acknowledged.filter((a) => a.shard === SHARD).map((a) => a.code);
    await eventually(async () => ((await storedOn(cutNode, codes)).size === codes.length ? true : undefined), "the rejoined standby to hold every acknowledged create", 30_000);
    for (const node of [cutNode, findNode(state, SHARD, survivorRole)]) {
      const sql = postgres(node.url, { max: 1, onnotice: () => {} });
      const [row] = await sql<Array<{ n: number }>>`select count(*)::int as n from partition_probe`;
      await sql.end({ timeout: 2 });
      expect({ node: node.role, rows: row!.n }).toEqual({ node: node.role, rows: 0 });
    }
    const sql = postgres(cutNode.url, { max: 1, onnotice: () => {} });
    const [recovery] = await sql<Array<{ standby: boolean }>>`select pg_is_in_recovery() as standby`;
    await sql.end({ timeout: 2 });
    expect(recovery!.standby).toBe(true);
  }, 150_000);
});
