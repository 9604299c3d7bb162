import { afterAll, describe, expect, test } from "bun:test";
import Redis from "ioredis";
import postgres from "postgres";
import { clusterState, eventually, freshCode, freshId, livePid, findNode, pauseNode, resumeNode, shardUrls, startNode, stopNode } from "../../harness/cluster";

// Node control on the real processes: each test leaves the node running again.
describe("cluster node control", () => {
  const closers: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    await Promise.all(closers.map((c) => c()));
  });

  const redisClient = (url: string) => {
    // Fail fast while the node is down instead of queueing commands.
    const r = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, connectTimeout: 500, commandTimeout: 500, retryStrategy: () => 100, lazyConnect: true });
    r.on("error", () => {});
    closers.push(async () => r.disconnect());
    return r;
  };
  const pg = (url: string) => {
    const sql = postgres(url, { max: 2, onnotice: () => {}, connect_timeout: 2 });
    closers.push(() => sql.end({ timeout: 2 }));
    return sql;
  };

  test("a redis node stopped with SHUTDOWN NOSAVE comes back on the same port", async () => {
    const state = clusterState();
    const url = shardUrls()[1]!.redis;
    const before = livePid(findNode(state, 1, "redis"));
    await stopNode(state, 1, "redis", "immediate");
    expect(livePid(findNode(state, 1, "redis"))).toBeNull();
    const probe = redisClient(url);
    await expect(probe.connect()).rejects.toThrow();
    probe.disconnect();

    await startNode(state, 1, "redis");
    const after = livePid(findNode(state, 1, "redis"));
    expect(after).not.toBeNull();
    expect(after).not.toBe(before);
    const client = redisClient(url);
    await eventually(async () => (await client.ping()) === "PONG", "redis PONG after restart", 5000);
    expect(clusterState().nodes.find((n) => n.shard === 1 && n.role === "redis")!.pid).toBe(after); // saved for `down`
  });

  test("a paused redis node hangs, then answers after resume", async () => {
    const state = clusterState();
    const client = redisClient(shardUrls()[2]!.redis);
    await client.connect();
    pauseNode(state, 2, "redis");
    try {
      await expect(client.ping()).rejects.toThrow(); // commandTimeout, not a refused connection
    } finally {
      resumeNode(state, 2, "redis");
    }
    await eventually(async () => (await client.ping()) === "PONG", "redis PONG after resume", 5000);
  });

  test("a replica stopped immediately restarts as a standby and catches up", async () => {
    const state = clusterState();
    const { primary: primaryUrl, replica: replicaUrl } = shardUrls()[0]!;
    const primary = pg(primaryUrl);
    await stopNode(state, 0, "replica", "immediate");
    expect(livePid(findNode(state, 0, "replica"))).toBeNull();

    // Written while the replica is down: it must stream it after the restart.
    const code = freshCode("cu");
    await primary`INSERT INTO links (code, id, long_url) VALUES (${code}, ${freshId().toString()}, 'https://example.com/catch-up')`;

    await startNode(state, 0, "replica");
    const replica = pg(replicaUrl);
    expect((await replica`SELECT pg_is_in_recovery() AS r`)[0]!.r).toBe(true);
    await eventually(async () => (await replica`SELECT 1 FROM links WHERE code = ${code}`).length === 1, `row ${code} on the restarted replica`);
  });

  test("a primary killed with SIGKILL restarts and its replica streams from it again", async () => {
    const state = clusterState();
    const { primary: primaryUrl, replica: replicaUrl } = shardUrls()[2]!;
    await stopNode(state, 2, "primary", "kill");
    expect(livePid(findNode(state, 2, "primary"))).toBeNull();
    await startNode(state, 2, "primary");

    const primary = pg(primaryUrl);
    const replica = pg(replicaUrl);
    const code = freshCode("pk");
    await primary`INSERT INTO links (code, id, long_url) VALUES (${code}, ${freshId().toString()}, 'https://example.com/after-crash')`;
    await eventually(async () => (await replica`SELECT 1 FROM links WHERE code = ${code}`).length === 1, `row ${code} on the replica after the primary restart`, 15_000);
  });
});
