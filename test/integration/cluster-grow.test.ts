import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Redis from "ioredis";
import postgres from "postgres";
import { clusterAddShard, clusterDir, clusterDown, clusterUp, clusterUpOnFreePorts, findNode, livePid, readState, REPO_ROOT, type ClusterState, type Role } from "../../scripts/cluster/index";
import { eventually, freshCode, freshId } from "../../harness/cluster";

// Its own one-shard cluster, not the runner's: growing the shared one would change the ring
// the other suites see. Base ports 27000..32600 sit between the runner's and the kernel's ephemeral range (32768+), shared with the re-sharding test (files run one after another).
const NAME = `grow-${process.pid}`;

describe("cluster add-shard", () => {
  let before: ClusterState;
  let after: ClusterState;
  const closers: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    await clusterUpOnFreePorts({ name: NAME, shards: 1, firstBase: 27_000, slots: 57 });
    before = readState(clusterDir(REPO_ROOT, NAME));
    after = await clusterAddShard({ name: NAME });
  }, 120_000);

  afterAll(async () => {
    await Promise.all(closers.map((c) => c()));
    await clusterDown({ name: NAME, wipe: true });
  }, 60_000);

  const pg = (url: string) => {
    const sql = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 2 });
    closers.push(() => sql.end({ timeout: 2 }));
    return sql;
  };
  const newShard = (role: "redis" | "primary" | "replica") => findNode(after, 1, role);

  test("the saved state lists the second shard", () => {
    expect(after.shards).toBe(2);
    expect(readState(after.dir).shards).toBe(2);
    const base = before.basePort;
    expect((["redis", "primary", "replica"] as const).map((role) => newShard(role).port)).toEqual([base + 10, base + 11, base + 12]);
  });

  test("the new shard's redis answers", async () => {
    const redis = new Redis(newShard("redis").url, { maxRetriesPerRequest: 1, lazyConnect: true });
    closers.push(async () => redis.disconnect());
    expect(await redis.ping()).toBe("PONG");
  });

  test("the new primary has the schema and streams to its replica", async () => {
    const primary = pg(newShard("primary").url);
    const replica = pg(newShard("replica").url);
    expect((await primary`select to_regclass('links') as t`)[0]!.t).toBe("links");
    expect((await replica`select pg_is_in_recovery() as r`)[0]!.r).toBe(true);

    const code = freshCode("gr");
    await primary`insert into links (code, id, long_url) values (${code}, ${freshId().toString()}, 'https://example.com/grown')`;
    await eventually(async () => (await replica`select 1 from links where code = ${code}`).length === 1, `row ${code} on the new replica`);
  });

  test("the original shard's processes were left running", () => {
    for (const node of before.nodes) {
      expect(node.pid).not.toBeNull();
      expect(livePid(findNode(after, 0, node.role as Role))).toBe(node.pid);
    }
  });

  test("up with fewer shards refuses and points at drain", async () => {
    await expect(clusterUp({ name: NAME, shards: 1 })).rejects.toThrow(/reshard drain/);
    expect(readState(after.dir).shards).toBe(2);
  });
});
