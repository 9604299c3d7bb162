import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn } from "bun";
import { clusterEnvVars, currentPrimary, engineNodes, stopNode, type Role } from "../../scripts/cluster/index";
import { seedLinks, startReshardFleet, type MoverRun, type ReshardFleet } from "../../harness/reshard-fleet";

/**
 * Shard 0's primary (which also holds the catalog: the ring, the mover's checkpoints, the API
 * keys) killed for good in the middle of `bun run reshard add`, with `bun run keys create` started
 * while it is down. Both wait, saying what for, and finish on the promoted standby; no stack
 * trace, no link lost.
 */
const ROOT = new URL("../..", import.meta.url).pathname;
let fleet: ReshardFleet;
let seeded: Array<[string, string]> = [];
let mover: MoverRun;
let moverExit = -1;
let keys = { code: -1, out: "" };

async function primaryOf(shard: number): Promise<Role> {
  const role = await currentPrimary(fleet.state, shard);
  if (role === null) throw new Error(`no settled primary in shard ${shard}: ${JSON.stringify(await engineNodes(fleet.state))}`);
  return role;
}

describe("the catalog's primary lost during a re-sharding and a key command", () => {
  beforeAll(async () => {
    fleet = await startReshardFleet(`catfail-${process.pid}`, 1, [44], { ha: true });
    seeded = await seedLinks(fleet.lb.url, 1500, 8, `catfail-${process.pid}`);
    await fleet.addShard();
    await fleet.rollingRestart();
    mover = fleet.mover(["add", "--rate", "300", "--grace-ms", "500"]);
    await mover.waitFor(/ring v\d+: copy/);
    await stopNode(fleet.state, 0, await primaryOf(0), "kill");
    const proc = spawn({ cmd: [process.execPath, "scripts/keys.ts", "create", "--name", "made-during-failover"], cwd: ROOT, env: { ...process.env, ...clusterEnvVars(fleet.state) }, stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    keys = { code, out: `${stdout}${stderr}` };
    moverExit = await mover.exited;
  }, 240_000);

  afterAll(async () => {
    await fleet?.stop();
  }, 60_000);

  test("the mover waited for shard 0's primary, said so in one line, and finished", () => {
    const out = mover.output();
    expect(moverExit).toBe(0);
    expect(out).toMatch(/waiting for primary-0: /);
    expect(out).toMatch(/done in .*stable on shards 0,1/);
    expect(out).not.toMatch(/TypeError|\n\s+at /);
  });

  test("the key command waited and made its key, which the service accepts", async () => {
    // It may say `waiting for primary-0: …` or not: after a failure the node asks the pair's hosts
    // which one takes writes and moves there, within the command's timeout and retry.
    expect(keys.code).toBe(0);
    expect(keys.out).not.toMatch(/TypeError|\n\s+at /);
    const key = /shk_[A-Za-z0-9_]+/.exec(keys.out)?.[0];
    expect(key).toBeDefined();
    const res = await fetch(`${fleet.lb.url}/create`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${key}` }, body: JSON.stringify({ url: `https://catfail.example/${process.pid}/keyed` }) });
    expect(res.status).toBe(201);
  });

  test("every link made before resolves after the move and the failover", async () => {
    const unresolved: string[] = [];
    for (const [code, url] of seeded) {
      const res = await fetch(`${fleet.lb.url}/${code}`, { redirect: "manual" });
      if (res.status !== 302 || res.headers.get("location") !== url) unresolved.push(`${code}: ${res.status}`);
    }
    expect(unresolved).toEqual([]);
  }, 60_000);
});
