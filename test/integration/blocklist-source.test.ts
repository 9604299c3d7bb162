/**
 * The blocklist as instances hold it, against the test cluster's catalog (shard 0, migrated with
 * migrations/015 by the cluster tool) and its Redis as the bus: a change made on one instance is
 * enforced by another within a second, by the announcement and, when that is lost, by the poll of
 * the version row; BLOCKLIST_FILE is reloaded when rewritten, and a wrong one stops the start.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { busClients } from "../../src/composition/redis-clients";
import type { HostBlocklist } from "../../src/domain/host-blocklist";
import { BlocklistSource, type BlocklistSourceDeps } from "../../src/modules/abuse/blocklist-source";
import { addBlockedHost, blockedHosts, blocklistVersion, removeBlockedHost } from "../../src/storage/blocklist-rows";
import { BLOCKLIST_CHANNEL } from "../../src/storage/redis-keys";
import { ShardSet } from "../../src/storage/shard-set";
import { clusterConfig } from "../../harness/system";

const config = clusterConfig();
const policy = { timeoutMs: 2000, retries: 0, breakAfter: 5, halfOpenAfterMs: 500 };
const shards = ShardSet.connect(config.shards, { redisPolicy: policy, dbPolicy: policy, dbPoolSize: 2 });
const catalog = { primary: shards.at(0).primary, replica: shards.at(0).replica };
const dir = mkdtempSync(join(tmpdir(), "blocklist-"));
const opened: Array<{ source: BlocklistSource; clients: ReturnType<typeof busClients> }> = [];
const errors: string[] = [];

afterAll(async () => {
  for (const { source, clients } of opened) {
    await source.close();
    for (const client of Object.values(clients)) client.disconnect();
  }
  await shards.close();
  rmSync(dir, { recursive: true, force: true });
});

const freshHost = (tag: string) => `${tag}-${crypto.randomUUID().slice(0, 8)}.blocked.example`;

async function instance(overrides: Partial<BlocklistSourceDeps> = {}): Promise<{ source: BlocklistSource; clients: ReturnType<typeof busClients> }> {
  const clients = busClients(config.shards[0]!.redis);
  const source = new BlocklistSource({ catalog, subscriber: clients.control, publisher: clients.publisher, file: null, pollMs: 1000, onError: (message) => errors.push(message), ...overrides });
  opened.push({ source, clients });
  await source.start();
  return { source, clients };
}

/** Milliseconds until `check` holds (polled every 2 ms), or a throw after `timeoutMs`. */
async function msUntil(check: () => boolean, what: string, timeoutMs = 5000): Promise<number> {
  const t0 = performance.now();
  while (!check()) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(2);
  }
  return performance.now() - t0;
}

describe("blocklist rows", () => {
  test("the version moves once per real change, deletes included", async () => {
    const host = freshHost("rows");
    const v0 = BigInt(await blocklistVersion(catalog.primary));
    expect(await addBlockedHost(catalog.primary, host, "first")).toBe(true);
    expect(await addBlockedHost(catalog.primary, host, "again")).toBe(false);
    expect(BigInt(await blocklistVersion(catalog.primary))).toBe(v0 + 1n);
    const row = (await blockedHosts(catalog.primary)).find((r) => r.host === host);
    expect(row?.note).toBe("first");
    expect(row?.addedAt).toBeInstanceOf(Date);
    expect(await removeBlockedHost(catalog.primary, host)).toBe(true);
    expect(await removeBlockedHost(catalog.primary, host)).toBe(false);
    expect(BigInt(await blocklistVersion(catalog.primary))).toBe(v0 + 2n);
  });
});

describe("two instances", () => {
  test("an entry added on one is enforced by the other within a second, and so is its removal", async () => {
    const changes: HostBlocklist[] = [];
    const a = (await instance()).source;
    const b = (await instance({ onChange: (list) => changes.push(list) })).source;
    const host = freshHost("bus");

    const t0 = performance.now();
    expect(await a.add(host, "phishing")).toBe(true);
    expect(a.list.blocks(`login.${host}`)).toBe(host);
    await msUntil(() => b.list.blocks(`login.${host}`) === host, "the other instance to block the host");
    const addMs = performance.now() - t0;
    expect(addMs).toBeLessThan(1000);
    expect(b.catalogEntries().get(host)?.note).toBe("phishing");
    expect(changes.at(-1)).toBe(b.list);
    expect(await a.add(host, "twice")).toBe(false);

    const t1 = performance.now();
    expect(await a.remove(host)).toBe(true);
    expect(a.list.blocks(host)).toBeNull();
    await msUntil(() => b.list.blocks(host) === null, "the other instance to unblock the host");
    const removeMs = performance.now() - t1;
    expect(removeMs).toBeLessThan(1000);
    expect(await a.remove(host)).toBe(false);
    console.log(`blocklist: added on one instance, enforced on the other after ${addMs.toFixed(0)} ms; removed after ${removeMs.toFixed(0)} ms`);
  });

  test("with the announcement lost, the poll of the version row converges within pollMs", async () => {
    const pollMs = 300;
    const a = (await instance()).source;
    const { source: deaf, clients } = await instance({ pollMs });
    await clients.control.unsubscribe(BLOCKLIST_CHANNEL);
    const host = freshHost("poll");

    const t0 = performance.now();
    await a.add(host, null);
    await msUntil(() => deaf.list.has(host), "the unsubscribed instance to poll the entry in");
    const addMs = performance.now() - t0;
    const t1 = performance.now();
    await a.remove(host);
    await msUntil(() => !deaf.list.has(host), "the unsubscribed instance to poll the removal in");
    const removeMs = performance.now() - t1;
    // One poll period plus a query's time and a timer's slack.
    expect(addMs).toBeLessThan(pollMs + 400);
    expect(removeMs).toBeLessThan(pollMs + 400);
  });

  test("a catalog entry is not taken unless it is in the form blockEntryOf gives", async () => {
    const a = (await instance()).source;
    await expect(a.add("Evil.Example.", null)).rejects.toThrow("is not an entry as blockEntryOf gives it");
    await expect(a.add("com", null)).rejects.toThrow("is not an entry as blockEntryOf gives it");
  });
});

describe("BLOCKLIST_FILE", () => {
  const pollMs = 200;
  const fileAt = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  test("is reloaded when rewritten, also by renaming a new file over it; a file gone wrong keeps its entries", async () => {
    const path = fileAt("live.txt", "# test file\nfirst.example\n");
    const before = errors.length;
    const { source } = await instance({ file: path, pollMs });
    expect([...source.fileEntries()]).toEqual(["first.example"]);
    expect(source.list.blocks("www.first.example")).toBe("first.example");

    writeFileSync(path, "first.example\nSecond.Example. # added\n");
    await msUntil(() => source.list.has("second.example"), "the rewritten file's entry", pollMs + 1000);

    // An editor's save: a new file renamed over the old one.
    writeFileSync(`${path}.tmp`, "third.example\n");
    renameSync(`${path}.tmp`, path);
    await msUntil(() => source.list.has("third.example") && !source.list.has("first.example"), "the renamed file's entries", pollMs + 1000);

    writeFileSync(path, "third.example\nnot a host\n");
    await msUntil(() => errors.length > before, "the wrong file to be reported", pollMs + 1000);
    expect(errors.at(-1)).toContain(`BLOCKLIST_FILE ${path} line 2: entry contains whitespace or control characters`);
    expect([...source.fileEntries()]).toEqual(["third.example"]);

    rmSync(path);
    await msUntil(() => errors.at(-1)!.includes("cannot be read"), "the missing file to be reported", pollMs + 1000);
    expect(source.list.has("third.example")).toBe(true);

    writeFileSync(path, "fourth.example\n");
    await msUntil(() => source.list.has("fourth.example") && !source.list.has("third.example"), "the restored file's entries", pollMs + 1000);
  });

  test("a wrong or missing file stops the start, naming BLOCKLIST_FILE and the line", async () => {
    const wrong = fileAt("wrong.txt", "ok.example\n\ncom # a whole TLD\nlocalhost\n");
    await expect(instance({ file: wrong })).rejects.toThrow(`BLOCKLIST_FILE ${wrong} line 3: give a domain with at least two labels (or an IP address) (1 more wrong line)`);
    await expect(instance({ file: join(dir, "absent.txt") })).rejects.toThrow(`BLOCKLIST_FILE ${join(dir, "absent.txt")} cannot be read`);
  });
});
