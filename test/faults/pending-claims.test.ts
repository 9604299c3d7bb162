/**
 * A URL-index claim owed while the URL's shard primary is down survives the instance: the
 * instance is SIGKILLed while the primary is still down, the primary comes back, and a fresh
 * instance makes the claim from the durable row, so the URL keeps its one code.
 */
import { afterAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { HashRing } from "../../src/domain/ring";
import { clusterState, shardUrls, startNode, stopNode } from "../../harness/cluster";
import { eventually } from "../../harness/eventually";
import { startServer, type ServerProcess } from "../../harness/server-process";
import { uniqueUrl } from "../../harness/system";

const DOWN = 2;
const servers: ServerProcess[] = [];
const sqls: postgres.Sql[] = [];
afterAll(async () => {
  await startNode(clusterState(), DOWN, "primary").catch(() => {});
  await Promise.all(servers.map((s) => s.stop()));
  await Promise.all(sqls.map((s) => s.end({ timeout: 2 })));
});

const ENV = { RATE_LIMIT_ENABLED: "false", DB_TIMEOUT_MS: "500", BREAKER_COOLDOWN_MS: "300", LOG_LEVEL: "error" };

describe("pending URL-index claims are durable", () => {
  test("SIGKILL the instance while the URL's shard primary is down: after both come back, a create of the URL returns the same code", async () => {
    const ring = new HashRing(3);
    let url = uniqueUrl("owed");
    while (ring.shardFor(url) !== DOWN) url = uniqueUrl("owed");
    const first = await startServer({ ...ENV, INSTANCE_ID: "51" });
    servers.push(first);
    await stopNode(clusterState(), DOWN, "primary", "immediate");

    const created = await fetch(`${first.url}/create`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ url }) }).catch((error: unknown) => {
      throw new Error(`create failed (${(error as Error).message}); server exit ${first.proc.exitCode}, output:\n${first.output().slice(-3000)}`);
    });
    const body = (await created.json()) as { short_code: string };
    const home = Number(created.headers.get("x-shard"));
    // The whole answer in one assertion, so a failure says what the server did instead.
    expect({ status: created.status, body, homeIsDown: home === DOWN }).toMatchObject({ status: 201, homeIsDown: false });
    const code = body.short_code;
    const homeSql = postgres(shardUrls()[home]!.primary, { max: 1, onnotice: () => {} });
    sqls.push(homeSql);
    expect((await homeSql`select count(*)::int as n from pending_claims where code = ${code}`)[0]!.n).toBe(1);

    first.proc.kill("SIGKILL");
    await first.proc.exited;
    await startNode(clusterState(), DOWN, "primary");

    const second = await startServer({ ...ENV, INSTANCE_ID: "52" });
    servers.push(second);
    await eventually(async () => ((await homeSql`select count(*)::int as n from pending_claims where code = ${code}`)[0]!.n === 0 ? true : undefined), "the repair to settle the claim", 15_000);
    const again = await fetch(`${second.url}/create`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ url }) });
    expect([again.status, ((await again.json()) as { short_code: string }).short_code]).toEqual([200, code]);
    expect((await fetch(`${second.url}/${code}`, { redirect: "manual" })).headers.get("location")).toBe(url);
  }, 90_000);
});
