/**
 * A node's breaker against the real nodes: statements the node refuses (values it cannot take,
 * constraints, bad SQL, values postgres.js cannot serialise, Redis commands on the wrong type)
 * come out as StatementErrors and never move the breaker, however many; the node's own failure
 * (a port nobody listens on) opens it.
 */
import { afterAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { InfraError, StatementError } from "../../src/errors";
import { createPgNode, createRedisNode, pgCall, redisCall, closePgNode, closeRedisNode } from "../../src/storage/nodes";
import { freshCode } from "../../harness/cluster";
import { clusterConfig } from "../../harness/system";
import { tcpRelay } from "../../harness/tcp-relay";

const config = clusterConfig();
const tuning = { timeoutMs: 2000, retries: 2, breakAfter: 3, halfOpenAfterMs: 60_000 };
const primary = createPgNode("primary-test", "primary", config.shards[0]!.primary, tuning, 2, 0);
const redis = createRedisNode("redis-test", config.shards[0]!.redis, { ...tuning, retries: 0 }, 0);
afterAll(async () => {
  await closePgNode(primary);
  await closeRedisNode(redis);
});

/** Statements that fail because of what they carry, each in a different way. */
const badStatement = fc.oneof(
  // A timestamp no calendar has, as text or as an invalid Date. postgres.js' own serializer threw
  // on it halfway through a Bind message and left the connection waiting until the call timed out
  // (a client's bad date counted against the node): the node sends it to the server to refuse.
  fc.constant((sql: any) => sql`select ${new Date(Number.NaN)}::timestamptz`),
  fc.tuple(fc.integer({ min: 13, max: 99 }), fc.integer({ min: 32, max: 99 })).map(([month, day]) => (sql: any) => sql`select ${`2026-${month}-${day}T00:00:00Z`}::timestamptz`),
  // The same text cast on the server: SQLSTATE 22008/22007.
  fc.integer({ min: 13, max: 99 }).map((month) => (sql: any) => sql`select ${`2026-${month}-01T00:00:00Z`}::text::timestamptz`),
  fc.integer({ min: 0, max: 0 }).map(() => (sql: any) => sql`select 1 / ${0}::int`),
  // Text no integer reads as (a letter first: " 01" or "+1" would parse): SQLSTATE 22P02.
  fc.string({ maxLength: 12 }).map((tail) => `x${tail}`).map((junk) => (sql: any) => sql`select ${junk}::int + 1`),
  fc.constant((sql: any) => sql`select * from no_such_table_${sql.unsafe(String(Date.now()))}`),
  fc.constant((sql: any) => sql`insert into links (code, id, long_url) values (null, 1, 'x')`),
  fc.bigInt({ min: 2n ** 63n, max: 2n ** 70n }).map((n) => (sql: any) => sql`select ${n.toString()}::bigint`),
);

describe("statement failures never move a breaker", () => {
  test("property: any sequence of bad statements on a real primary → StatementError every time, breaker closed, the node still answers", async () => {
    const changes: string[] = [];
    primary.policy.onStateChange((s) => changes.push(s));
    await fc.assert(
      fc.asyncProperty(fc.array(badStatement, { minLength: 1, maxLength: 12 }), async (statements) => {
        for (const statement of statements) {
          const error = await pgCall(primary, statement as never, { idempotent: true }).then(
            () => null,
            (e: unknown) => e,
          );
          expect(error).toBeInstanceOf(StatementError);
        }
        expect(primary.policy.state).toBe("closed");
      }),
      { numRuns: 25 },
    );
    expect(changes).toEqual([]);
    expect((await pgCall(primary, (sql) => sql`select 1 as one`, { idempotent: true }))[0]).toEqual({ one: 1 });
  }, 60_000);

  test("a unique violation keeps its SQLSTATE for the service (alias taken, code clash)", async () => {
    const code = freshCode("np");
    const insert = (id: number) => pgCall(primary, (sql) => sql`insert into links (code, id, long_url) values (${code}, ${id + Number(BigInt.asUintN(40, BigInt(Date.now())))}, 'https://example.com/np')`, { idempotent: false });
    await insert(1);
    const error = await insert(2).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StatementError);
    expect((error as StatementError).sqlState).toBe("23505");
    await pgCall(primary, (sql) => sql`delete from links where code = ${code}`, { idempotent: true });
  });

  test("Redis: a command on the wrong type of key, many times, leaves the breaker closed", async () => {
    const key = `np:${crypto.randomUUID()}`;
    await redisCall(redis, (r) => r.set(key, "x", "EX", 60), { idempotent: true });
    for (let i = 0; i < 10; i++) {
      const error = await redisCall(redis, (r) => r.lpush(key, "y"), { idempotent: false }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StatementError);
    }
    expect(redis.policy.state).toBe("closed");
    expect(await redisCall(redis, (r) => r.get(key), { idempotent: true })).toBe("x");
  });
});

describe("node failures do", () => {
  test("a PostgreSQL port nobody listens on opens the breaker after breakAfter failures, then calls are skipped", async () => {
    const dead = createPgNode("primary-dead", "primary", "postgres://postgres@127.0.0.1:9/shorten", { ...tuning, retries: 0 }, 1, 0);
    try {
      for (let i = 0; i < tuning.breakAfter; i++) {
        expect(await pgCall(dead, (sql) => sql`select 1`, { idempotent: true }).catch((e: unknown) => e)).toBeInstanceOf(InfraError);
      }
      expect(dead.policy.state).toBe("open");
      const skipped = await pgCall(dead, (sql) => sql`select 1`, { idempotent: true }).catch((e: unknown) => e);
      expect((skipped as InfraError).message).toContain("circuit open");
    } finally {
      await closePgNode(dead);
    }
  });

  test("a query past its deadline whose cancel cannot reach the node fails as the node's, and leaves no unhandled rejection to end the process", async () => {
    const port = Number(new URL(config.shards[0]!.primary).port);
    const relay = await tcpRelay(port);
    const url = new URL(config.shards[0]!.primary);
    url.port = String(relay.port);
    const node = createPgNode("primary-relayed", "primary", url.toString(), { ...tuning, timeoutMs: 300, retries: 0 }, 1, 0);
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => void unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      await pgCall(node, (sql) => sql`select 1`, { idempotent: false });
      // The session stays open and hangs; the cancel request needs a new connection, refused.
      relay.refuseNew();
      const error = await pgCall(node, (sql) => sql`select pg_sleep(5)`, { idempotent: false }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InfraError);
      expect((error as InfraError).message).toContain("timed out");
      await Bun.sleep(500);
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
      relay.cut();
      await closePgNode(node);
    }
  });
});
