import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import { clusterDir, clusterDown, clusterEnvVars, engineEvents, clusterUp, clusterUpOnFreePorts, currentPrimary, engineNodes, findNode, keeperName, logTail, readState, REPO_ROOT, startNode, stopNode, waitForStates, type ClusterState, type Role } from "../../scripts/cluster/index";
import { eventually, startServer, type ServerProcess } from "../../harness/server-process";
import { asPgUser, runOk } from "../../scripts/cluster/exec";
import { splitUrls } from "../../src/config";

/**
 * A shard's primary lost under load, on a cluster of its own whose PostgreSQL pairs are managed
 * by pg_auto_failover (synchronous replication): the keeper's whole process group and the
 * postmaster's backends are SIGKILLed, so nothing of the old node can come back by itself. The
 * engine promotes the standby; the app, given both hosts of the pair, follows by itself.
 */
const NAME = `failover-${process.pid}`;
const FAULT_SHARD = 1;

interface Ack {
  code: string;
  url: string;
  shard: number;
  /** When the request was sent. */
  sent: number;
  at: number;
}

let state: ClusterState;
let server: ServerProcess;
const acknowledged: Ack[] = [];
const createStatuses = new Map<number, number>();
const redirectStatuses = new Map<number, number>();
const serverErrors: string[] = [];
let seeded: Ack[] = [];
let killedAt = 0;
let killDone = 0;
let resumedAt = 0;
let killedRole: Role = "primary";

const count = (m: Map<number, number>, status: number) => m.set(status, (m.get(status) ?? 0) + 1);

async function create(url: string): Promise<Ack | null> {
  const sent = performance.now();
  const res = await fetch(`${server.url}/create`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ url }) });
  count(createStatuses, res.status);
  if (res.status >= 500 && serverErrors.length < 5) serverErrors.push(`${res.status} ${await res.text()}`);
  if (res.status !== 201 && res.status !== 200) return null;
  const body = (await res.json()) as { short_code: string };
  const ack = { code: body.short_code, url, shard: Number(res.headers.get("x-shard")), sent, at: performance.now() };
  acknowledged.push(ack);
  return ack;
}

/** The acknowledged links the server does not redirect to their URL. */
async function unresolved(acks: readonly Ack[]): Promise<string[]> {
  const wrong: string[] = [];
  for (const a of acks) {
    const res = await fetch(`${server.url}/${a.code}`, { redirect: "manual" });
    if (res.status !== 302 || res.headers.get("location") !== a.url) wrong.push(`${a.code}: ${res.status}`);
  }
  return wrong;
}

/** For a failure message: the end of the newest file the node's logging collector wrote (where a failed start says why). */
function serverLog(dataDir: string): string {
  const dir = join(dataDir, "log");
  const files = existsSync(dir) ? readdirSync(dir).sort() : [];
  return files.length === 0 ? `no file in ${dir}` : `${files.at(-1)}:\n${logTail(join(dir, files.at(-1)!), 15)}`;
}

/** The place whose node is primary, once the monitor has settled the pair (a rejoined standby may still be catching up). */
async function primaryOf(shard: number): Promise<Role> {
  return await eventually(async () => (await currentPrimary(state, shard)) ?? undefined, `a settled primary in shard ${shard}`, 30_000);
}

/** What the monitor and the server saw, for a failure message: the engine's last events and the server's node report. */
async function explain(): Promise<string> {
  const events = await engineEvents(state, 12);
  const ready = await fetch(`${server.url}/health/ready`).then((r) => r.text(), (e: Error) => e.message);
  return `monitor events (newest first):\n${events.map((e) => `  ${e}`).join("\n")}\nserver /health/ready: ${ready}\nserver log tail:\n${server.output().split("\n").slice(-20).join("\n")}`;
}

/** For a failure message: which nodes hold each of these links (`code: status` as `unresolved` gives them), and whether each node is a standby. */
async function whereStored(wrong: readonly string[]): Promise<string> {
  const codes = wrong.map((w) => w.split(":")[0]!);
  const lines = wrong.map((w) => {
    const ack = acknowledged.find((a) => a.code === w.split(":")[0]);
    return `unresolved ${w}: acknowledged by shard ${ack?.shard} ${((ack?.at ?? 0) / 1000).toFixed(1)} s into the run`;
  });
  for (const node of state.nodes.filter((n) => n.role === "primary" || n.role === "replica")) {
    const sql = postgres(node.url, { max: 1, onnotice: () => {}, connect_timeout: 2 });
    try {
      const [row] = await sql<Array<{ standby: boolean }>>`select pg_is_in_recovery() as standby`;
      const standby = row!.standby;
      const held = await sql<Array<{ code: string }>>`select code from links where code = any(${codes})`;
      lines.push(`  shard ${node.shard} ${node.role} (${standby ? "standby" : "not in recovery"}): holds ${held.map((r) => r.code).join(", ") || "none of them"}`);
    } catch (error) {
      lines.push(`  shard ${node.shard} ${node.role}: ${(error as Error).message}`);
    } finally {
      await sql.end({ timeout: 2 });
    }
  }
  return lines.join("\n");
}

describe("automatic failover under pg_auto_failover", () => {
  beforeAll(async () => {
    await clusterUpOnFreePorts({ name: NAME, shards: 2, firstBase: 27_050, slots: 57, ha: true });
    state = readState(clusterDir(REPO_ROOT, NAME));
    server = await startServer({ ...clusterEnvVars(state), INSTANCE_ID: "41", RATE_LIMIT_ENABLED: "false", DB_TIMEOUT_MS: "500", BREAKER_COOLDOWN_MS: "300" });
    for (let i = 0; seeded.filter((a) => a.shard === FAULT_SHARD).length < 20 && i < 200; i++) {
      const ack = await create(`https://failover.example/seed/${process.pid}/${i}`);
      if (ack) seeded.push(ack);
    }
    if (seeded.length === 0) throw new Error(`no create succeeded: ${JSON.stringify([...createStatuses])} ${serverErrors.join("; ")}`);

    let stop = false;
    const creator = async (worker: number) => {
      for (let i = 0; !stop; i++) {
        const ack = await create(`https://failover.example/load/${process.pid}/${worker}/${i}`).catch(() => null);
        // Sent after the node was gone: a create in flight at the kill may have committed before it.
        if (ack && killDone > 0 && ack.sent > killDone && resumedAt === 0 && ack.shard === FAULT_SHARD) resumedAt = ack.at;
      }
    };
    const redirector = async () => {
      for (let i = 0; !stop; i++) {
        const link = seeded[i % seeded.length]!;
        const res = await fetch(`${server.url}/${link.code}`, { redirect: "manual" });
        count(redirectStatuses, res.status);
      }
    };
    const load = [0, 1, 2, 3].map(creator).concat([redirector(), redirector()]);
    await Bun.sleep(1500);
    killedRole = await primaryOf(FAULT_SHARD);
    killedAt = performance.now();
    await stopNode(state, FAULT_SHARD, killedRole, "kill");
    killDone = performance.now();
    const deadline = performance.now() + 60_000;
    while (resumedAt === 0 && performance.now() < deadline) await Bun.sleep(100);
    await Bun.sleep(1000);
    stop = true;
    await Promise.all(load);
  }, 180_000);

  afterAll(async () => {
    await server?.stop();
    await clusterDown({ name: NAME, wipe: true });
  }, 60_000);

  test("creates for the shard resume on the promoted standby", async () => {
    expect(resumedAt).toBeGreaterThan(0);
    console.log(`failover: creates on shard ${FAULT_SHARD} resumed ${((resumedAt - killedAt) / 1000).toFixed(1)} s after its primary was killed; creates ${JSON.stringify([...createStatuses])}, redirects ${JSON.stringify([...redirectStatuses])}`);
    // Writes may resume a moment before the monitor has settled the new primary's state.
    const survivor: Role = killedRole === "primary" ? "replica" : "primary";
    await eventually(async () => ((await currentPrimary(state, FAULT_SHARD)) === survivor ? true : undefined), `shard ${FAULT_SHARD}'s ${survivor} settled as primary`, 30_000);
  }, 40_000);

  test("no create was answered 5xx, and no redirect failed", () => {
    expect(serverErrors).toEqual([]);
    expect([...createStatuses.keys()].filter((s) => s >= 500)).toEqual([]);
    expect([...redirectStatuses.keys()]).toEqual([302]);
  });

  test("every acknowledged create is on the promoted primary and resolves", async () => {
    const onShard = acknowledged.filter((a) => a.shard === FAULT_SHARD);
    expect(onShard.length).toBeGreaterThan(20);
    const survivor = findNode(state, FAULT_SHARD, killedRole === "primary" ? "replica" : "primary");
    const sql = postgres(survivor.url, { max: 1, onnotice: () => {} });
    try {
      const rows = await sql<Array<{ code: string; long_url: string }>>`select code, long_url from links where code = any(${onShard.map((a) => a.code)})`;
      const stored = new Map(rows.map((r) => [r.code, r.long_url]));
      expect(onShard.filter((a) => stored.get(a.code) !== a.url).map((a) => a.code)).toEqual([]);
    } finally {
      await sql.end({ timeout: 2 });
    }
    expect(await unresolved(acknowledged)).toEqual([]);
  }, 60_000);

  test("the killed node, started again, rejoins as the standby", async () => {
    await startNode(state, FAULT_SHARD, killedRole);
    const killed = findNode(state, FAULT_SHARD, killedRole);
    // Under CI's load the rejoin (rewind, then the monitor's health check) has taken 54 s.
    await waitForStates(state, { [keeperName(killed)]: ["secondary"] }, 100_000);
  }, 110_000);
  test("a primary lost for good: no acknowledged create lost, and `up` rebuilds it as the standby", async () => {
    // The standby that just rejoined must be one the monitor would promote: health-checked.
    await eventually(async () => ((await engineNodes(state)).filter((n) => n.formation === `shard${FAULT_SHARD}` && n.healthy).length === 2 ? true : undefined), "both nodes of the shard health-checked", 30_000);
    const lost = await primaryOf(FAULT_SHARD);
    const lostNode = findNode(state, FAULT_SHARD, lost);
    // And settled as a pair: a `wait_primary` the monitor is about to make `primary` is not failed
    // over if lost in between (seen in CI: killed 2 s after its standby caught up, no promotion in 60 s).
    const standbyNode = findNode(state, FAULT_SHARD, lost === "primary" ? "replica" : "primary");
    await waitForStates(state, { [keeperName(lostNode)]: ["primary"], [keeperName(standbyNode)]: ["secondary"] }, 60_000);
    const before = acknowledged.length;
    let stop = false;
    let gone = 0;
    let back = 0;
    const creator = async (worker: number) => {
      for (let i = 0; !stop; i++) {
        const ack = await create(`https://failover.example/lost/${process.pid}/${worker}/${i}`).catch(() => null);
        if (ack && gone > 0 && ack.sent > gone && ack.shard === FAULT_SHARD && back === 0) back = ack.at;
      }
    };
    const load = [0, 1, 2].map(creator);
    await Bun.sleep(1000);
    await stopNode(state, FAULT_SHARD, lost, "kill");
    rmSync(lostNode.dataDir, { recursive: true, force: true });
    gone = performance.now();
    while (back === 0 && performance.now() - gone < 60_000) await Bun.sleep(100);
    stop = true;
    await Promise.all(load);
    if (back === 0) console.log(`no create on shard ${FAULT_SHARD} after its primary was lost for good\n${await explain()}`);
    expect(back).toBeGreaterThan(0);

    const made = acknowledged.slice(before).filter((a) => a.shard === FAULT_SHARD);
    expect(made.length).toBeGreaterThan(0);
    const survivor = findNode(state, FAULT_SHARD, lost === "primary" ? "replica" : "primary");
    const onNode = async (url: string) => {
      const sql = postgres(url, { max: 1, onnotice: () => {} });
      try {
        return new Set((await sql<Array<{ code: string }>>`select code from links where code = any(${made.map((a) => a.code)})`).map((r) => r.code));
      } finally {
        await sql.end({ timeout: 2 });
      }
    };
    const onSurvivor = await onNode(survivor.url);
    expect(made.filter((a) => !onSurvivor.has(a.code)).map((a) => a.code)).toEqual([]);

    state = await clusterUp({ name: NAME });
    await waitForStates(state, { [keeperName(lostNode)]: ["secondary"] }, 60_000);
    await eventually(async () => ((await onNode(lostNode.url)).size === made.length ? true : undefined), "the rebuilt standby to hold every acknowledged create", 30_000);
  }, 180_000);
  test("a demoted primary started again outside the engine, named first in the writer's hosts: creates move on to the real primary", async () => {
    const zombieRole = await primaryOf(FAULT_SHARD);
    const survivorRole: Role = zombieRole === "primary" ? "replica" : "primary";
    const zombie = findNode(state, FAULT_SHARD, zombieRole);
    const real = findNode(state, FAULT_SHARD, survivorRole);
    await stopNode(state, FAULT_SHARD, zombieRole, "kill");
    await eventually(async () => ((await currentPrimary(state, FAULT_SHARD)) === survivorRole ? true : undefined), "the standby promoted", 60_000);
    // What pg_autoctl's surviving "start/stop postgres" child did in the field: the demoted node's
    // PostgreSQL up again with no keeper, writable, still waiting for a synchronous standby.
    const pgCtl = [join(state.binaries.pgBin, "pg_ctl"), "-D", zombie.dataDir, "-l", join(zombie.dir, "outside-the-engine.log"), "-w", "-t", "30"];
    await runOk(asPgUser([...pgCtl, "start"]), { hint: () => `outside-the-engine.log:\n${logTail(join(zombie.dir, "outside-the-engine.log"), 15)}\n${serverLog(zombie.dataDir)}` });
    let second: ServerProcess | null = null;
    try {
      const direct = postgres(zombie.url, { max: 1, onnotice: () => {} });
      const [z] = await direct<Array<{ recovery: boolean; sync: string }>>`select pg_is_in_recovery() as recovery, current_setting('synchronous_standby_names') as sync`;
      await direct.end({ timeout: 2 });
      expect(z!.recovery).toBe(false);
      // A writer whose host list names the demoted node first (postgres.js tries hosts in order).
      const db = splitUrls(clusterEnvVars(state).DATABASE_NODES);
      db[2 * FAULT_SHARD] = `postgres://postgres@127.0.0.1:${zombie.port},127.0.0.1:${real.port}/shorten?target_session_attrs=read-write`;
      second = await startServer({ ...clusterEnvVars(state), DATABASE_NODES: db.join(","), INSTANCE_ID: "42", RATE_LIMIT_ENABLED: "false", DB_TIMEOUT_MS: "500", BREAKER_COOLDOWN_MS: "300" });
      const made: Ack[] = [];
      const refused: string[] = [];
      const deadline = performance.now() + 60_000;
      for (let i = 0; made.length < 5 && performance.now() < deadline; i++) {
        const res = await fetch(`${second.url}/create`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ url: `https://failover.example/zombie/${process.pid}/${i}` }) });
        if (res.status >= 500) refused.push(`${res.status} ${await res.text()}`);
        else if (res.status === 201 && res.headers.get("x-shard") === String(FAULT_SHARD)) made.push({ code: ((await res.json()) as { short_code: string }).short_code, url: "", shard: FAULT_SHARD, sent: 0, at: 0 });
      }
      console.log(`demoted node restarted writable (synchronous_standby_names '${z!.sync}'): ${made.length} creates on shard ${FAULT_SHARD} after moving on, ${refused.length} answered 5xx`);
      if (made.length < 5 || refused.length > 0) console.log(`5xx answers: ${refused.slice(0, 5).join("\n")}\nsecond server's log:\n${second.output().split("\n").slice(-20).join("\n")}`);
      expect(made.length).toBe(5);
      expect(refused).toEqual([]);
      const sql = postgres(real.url, { max: 1, onnotice: () => {} });
      const onReal = await sql<Array<{ code: string }>>`select code from links where code = any(${made.map((a) => a.code)})`;
      await sql.end({ timeout: 2 });
      expect(onReal.length).toBe(made.length);
    } finally {
      await second?.stop();
      await runOk(asPgUser([...pgCtl, "-m", "immediate", "stop"]));
    }
  }, 150_000);
  test("the whole cluster stopped and brought up again: the running server serves every acknowledged link and takes creates", async () => {
    await clusterDown({ name: NAME });
    state = await clusterUp({ name: NAME });
    for (const shard of [0, FAULT_SHARD]) expect(await currentPrimary(state, shard)).not.toBeNull();
    const down = async () => {
      const report = (await (await fetch(`${server.url}/health/ready`)).json()) as { shards: Array<{ nodes: Array<{ name: string; up: boolean; error?: string }> }> };
      return report.shards.flatMap((s) => s.nodes).filter((n) => !n.up);
    };
    try {
      await eventually(async () => ((await down()).length === 0 ? true : undefined), "every node up again in the server's eyes", 60_000);
    } catch (error) {
      console.log(`still down: ${JSON.stringify(await down())}\nserver log:\n${server.output().split("\n").slice(-40).join("\n")}`);
      throw error;
    }
    const shardOf = await eventually(async () => {
      const res = await fetch(`${server.url}/create`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ url: `https://failover.example/restart/${process.pid}` }) });
      return res.status === 201 ? Number(res.headers.get("x-shard")) : undefined;
    }, "a create after the restart", 30_000);
    expect([0, FAULT_SHARD]).toContain(shardOf);
    // A pool may still hold a node whose role changed in the restart for up to ASK_EVERY_MS
    // (host-choice.ts): a link it misses then must be found once the pools have moved, and
    // stored on the shard's primary, or it was lost.
    const first = await unresolved(acknowledged);
    if (first.length > 0) console.log(`right after the restart, ${await whereStored(first)}`);
    try {
      await eventually(async () => ((await unresolved(acknowledged)).length === 0 ? true : undefined), "every acknowledged link resolving", 20_000);
    } catch (error) {
      console.log(`${await whereStored(await unresolved(acknowledged))}\n${await explain()}`);
      throw error;
    }
  }, 150_000);
});
