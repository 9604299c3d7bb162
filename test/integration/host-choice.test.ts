/**
 * A node given both hosts of a pair (the HA form of DATABASE_NODES), against the test cluster's
 * real primary and its streaming replica: the writer's pool holds the host that takes writes and
 * the reader's the standby, whatever order the hosts are listed in, after its connections are
 * dropped too (postgres.js' own multi-host handling moved them to the next host, the standby),
 * with one host not answering at all, and with the host that takes writes slow to answer at first.
 */
import { afterAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { hostsOf } from "../../src/config";
import { closePgNode, createPgNode, pgCall, settledClient, type PgNode } from "../../src/storage/nodes";
import { clusterConfig } from "../../harness/system";
import { startDelayProxy } from "../../harness/delay-proxy";

const config = clusterConfig();
const tuning = { timeoutMs: 1000, retries: 1, breakAfter: 5, halfOpenAfterMs: 300 };
const hostOf = (url: string) => hostsOf(url)!.hosts[0]!;
const primaryHost = hostOf(config.shards[0]!.primary);
const standbyHost = hostOf(config.shards[0]!.replica);
/** A loopback port nobody listens on. */
const deadHost = "127.0.0.1:9";
const pairUrl = (hosts: string[], attrs: string) => `postgres://postgres@${hosts.join(",")}/shorten?target_session_attrs=${attrs}`;

const opened: PgNode[] = [];
afterAll(async () => {
  await Promise.all(opened.map(closePgNode));
});

function node(role: "primary" | "replica", hosts: string[]): PgNode {
  const n = createPgNode(`${role}-pair`, role, pairUrl(hosts, role === "primary" ? "read-write" : "prefer-standby"), tuning, 4, 0);
  opened.push(n);
  return n;
}

/** Which kind of host answered each of `n` concurrent calls. */
async function answers(n: PgNode, calls: number): Promise<string[]> {
  const rows = await Promise.all(Array.from({ length: calls }, () => pgCall(n, (sql) => sql<Array<{ standby: boolean }>>`select pg_is_in_recovery() as standby`, { idempotent: true })));
  return [...new Set(rows.map((r) => (r[0]!.standby ? "standby" : "primary")))];
}

describe("a pair's node holds the right host", () => {
  test("a writer with the standby listed first writes to the primary, and again after its connections are dropped", async () => {
    const writer = node("primary", [standbyHost, primaryHost]);
    await settledClient(writer);
    expect(await answers(writer, 20)).toEqual(["primary"]);
    const admin = postgres(config.shards[0]!.primary, { max: 1, onnotice: () => {} });
    try {
      await admin`select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'shorten-primary' and pid <> pg_backend_pid()`;
    } finally {
      await admin.end({ timeout: 2 });
    }
    await Bun.sleep(200);
    // The first calls may meet the dropped connections; once reconnected, every one is on the primary.
    await Promise.allSettled(Array.from({ length: 4 }, () => pgCall(writer, (sql) => sql`select 1`, { idempotent: true })));
    expect(await answers(writer, 20)).toEqual(["primary"]);
    const [row] = await pgCall(writer, (sql) => sql<Array<{ id: string }>>`select txid_current()::text as id`, { idempotent: false });
    expect(Number(row!.id)).toBeGreaterThan(0);
  });

  test("a reader with the primary listed first reads from the standby", async () => {
    const reader = node("replica", [primaryHost, standbyHost]);
    await settledClient(reader);
    expect(await answers(reader, 20)).toEqual(["standby"]);
  });

  test("a reader whose standby does not answer reads from the primary instead of timing out", async () => {
    const reader = node("replica", [deadHost, primaryHost]);
    await settledClient(reader);
    expect(await answers(reader, 10)).toEqual(["primary"]);
    expect(reader.policy.state).toBe("closed");
  });

  test("a writer whose first host does not answer writes to the second", async () => {
    const writer = node("primary", [deadHost, primaryHost]);
    await settledClient(writer);
    expect(await answers(writer, 10)).toEqual(["primary"]);
  });

  test("a writer whose primary answers its first question late (a connection opened on a busy machine) still settles on it, not on the first host named", async () => {
    const proxy = await startDelayProxy(Number(primaryHost.split(":")[1]));
    try {
      // Held longer than a call's timeout, so the first round of questions goes unanswered by the primary.
      proxy.delayMs = 700;
      setTimeout(() => (proxy.delayMs = 0), 550);
      const writer = createPgNode("slow-primary-pair", "primary", pairUrl([standbyHost, `127.0.0.1:${proxy.port}`], "read-write"), { ...tuning, timeoutMs: 500 }, 2, 0);
      opened.push(writer);
      await settledClient(writer);
      expect(await answers(writer, 10)).toEqual(["primary"]);
    } finally {
      proxy.stop();
    }
  });

  test("a writer given only standbys is refused as read-only (the node's fault, not the statement's) and never hangs", async () => {
    const writer = node("primary", [standbyHost, deadHost]);
    await settledClient(writer);
    const error = await pgCall(writer, (sql) => sql`select txid_current()`, { idempotent: false }).catch((e: unknown) => e);
    expect((error as Error).name).toBe("InfraError");
  });
});
