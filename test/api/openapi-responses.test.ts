/**
 * Real responses against the published spec: every route is called for every status its
 * operation lists (success and each error), and each answer must be listed for that route, carry
 * a media type the spec names and validate against that status's schema. A status in the spec
 * that no case produces fails the test, so the spec cannot promise what the routes never say.
 *
 * Three in-process servers on the test cluster: one with rate limiting off and observability
 * closed, one with every budget at one request a minute (the 429s), and one whose nodes sit
 * behind TCP relays that the test cuts (the 503s, seen by that server alone).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { startSystem, uniqueUrl, type TestSystem } from "../../harness/system";
import { tcpRelay, type TcpRelay } from "../../harness/tcp-relay";
import { makeKey } from "../support/keys";

type Operation = { responses: Record<string, { content?: Record<string, { schema: object }> }> };
let spec: { paths: Record<string, Record<string, Operation>> };
let open: TestSystem;
let limited: TestSystem;
let severed: TestSystem;
let relays: TcpRelay[] = [];
let key: string;
let admin: string;

const auth = (text: string) => ({ headers: { authorization: `Bearer ${text}` } });
const portOf = (url: string) => Number(new URL(url).port);

// Hosts no other test links to: the blocklist is the cluster's, shared by every system here.
const run = crypto.randomUUID().slice(0, 8);
const FILE_HOST = `file-${run}.blocked.test`;
const API_HOST = `api-${run}.blocked.test`;

beforeAll(async () => {
  const blocklistFile = join(mkdtempSync(join(tmpdir(), "spec-blocklist-")), "blocklist.txt");
  writeFileSync(blocklistFile, `# operators' list\n${FILE_HOST}\n`);
  open = await startSystem({ RATE_LIMIT_ENABLED: "false", OBSERVABILITY_PUBLIC: "false", MAX_BODY_BYTES: "2048", IMPORT_MAX_BYTES: "4096", BLOCKLIST_FILE: blocklistFile });
  limited = await startSystem({ RATE_LIMIT_CREATE_PER_MIN: "1", RATE_LIMIT_REDIRECT_PER_MIN: "1", RATE_LIMIT_KEY_PER_MIN: "1", RATE_LIMIT_AUTH_PER_MIN: "1", OBSERVABILITY_PUBLIC: "false" });
  key = (await makeKey(open.config, "openapi-responses")).text;
  admin = (await makeKey(open.config, "openapi-responses-admin", "admin")).text;
  const shards = open.config.shards;
  const relayOf = async (url: string) => {
    const relay = await tcpRelay(portOf(url));
    relays.push(relay);
    const u = new URL(url);
    u.port = String(relay.port);
    return u.toString().replace(/\/$/, "");
  };
  const db: string[] = [];
  const redis: string[] = [];
  for (const s of shards) {
    db.push(await relayOf(s.primary), await relayOf(s.replica));
    redis.push(await relayOf(s.redis));
  }
  // Timeouts as shipped: the relays share this test's event loop, and tighter ones turned a busy moment into a 503 before the cut.
  severed = await startSystem({ DATABASE_NODES: db.join(","), REDIS_NODES: redis.join(","), RATE_LIMIT_ENABLED: "false" });
  const res = await open.request("GET", "/openapi.json");
  spec = (await res.json()) as typeof spec;
}, 60_000);

afterAll(async () => {
  await open.request("DELETE", `/api/admin/blocklist?host=${API_HOST}`, undefined, auth(admin));
  await Promise.all([open.close(), limited.close()]);
  // The severed server's stop waits on nodes it can no longer reach: bounded, then left.
  await Promise.race([severed.close().catch(() => {}), Bun.sleep(5000)]);
}, 30_000);

interface Case {
  method: string;
  template: string;
  status: number;
  send: () => Promise<Response>;
}

async function until(send: () => Promise<Response>, status: number, tries = 10): Promise<Response> {
  let res = await send();
  for (let i = 1; i < tries && res.status !== status; i++) res = await send();
  return res;
}

let n = 0;
const peer = () => `10.9.${Math.floor(++n / 250)}.${n % 250}`;

async function cases(): Promise<Case[]> {
  const created = (await (await open.request("POST", "/create", { url: uniqueUrl("spec") }, auth(key))).json()) as { short_code: string };
  const owned = created.short_code;
  const once = (await (await open.request("POST", "/create", { url: uniqueUrl("once"), max_visits: 1 })).json()) as { short_code: string };
  const alias = `spec-${crypto.randomUUID().slice(0, 8)}`;
  await open.request("POST", "/create", { url: uniqueUrl("alias"), alias }, auth(key));
  const doomed = (await (await open.request("POST", "/create", { url: uniqueUrl("doomed") }, auth(key))).json()) as { short_code: string };
  const same = uniqueUrl("same");
  await open.request("POST", "/create", { url: same });
  const locked = ((await (await open.request("POST", "/create", { url: uniqueUrl("locked"), password: "spec-secret" }, auth(key))).json()) as { short_code: string }).short_code;
  const lockedOnce = ((await (await open.request("POST", "/create", { url: uniqueUrl("locked-once"), password: "spec-secret", max_visits: 1 }, auth(key))).json()) as { short_code: string }).short_code;
  const unlock = (code: string, password: unknown, from = "127.0.0.1", target = open) => () => target.request("POST", `/${code}`, { password }, { peer: from });
  // Made before its host is blocked (by the 451 cases): a blocked URL cannot be created.
  const blockedCode = ((await (await open.request("POST", "/create", { url: `https://www.${API_HOST}/x` }, auth(key))).json()) as { short_code: string }).short_code;
  const block = () => open.request("POST", "/api/admin/blocklist", { host: API_HOST }, auth(admin));

  const text = (method: string, path: string, type: string, body: string, extra: Record<string, string> = {}) => () =>
    open.request(method, path, undefined, { raw: body, headers: { "content-type": type, ...extra } });
  const big = "x".repeat(3000);
  const wrongKey = (path: string, method = "GET") => {
    const from = peer();
    return () => until(() => limited.request(method, path, method === "GET" ? undefined : {}, { peer: from, headers: { authorization: "Bearer shk_wrong_key" } }), 429);
  };

  return [
    { method: "post", template: "/create", status: 201, send: () => open.request("POST", "/create", { url: uniqueUrl("new") }) },
    { method: "post", template: "/create", status: 200, send: () => open.request("POST", "/create", { url: same }) },
    { method: "post", template: "/create", status: 400, send: () => open.request("POST", "/create", { url: 42 }) },
    { method: "post", template: "/create", status: 401, send: () => open.request("POST", "/create", { url: uniqueUrl(), alias: "needs-key" }) },
    { method: "post", template: "/create", status: 409, send: () => open.request("POST", "/create", { url: uniqueUrl(), alias }, auth(key)) },
    { method: "post", template: "/create", status: 413, send: () => open.request("POST", "/create", { url: `https://example.com/${big}` }) },
    { method: "post", template: "/create", status: 415, send: text("POST", "/create", "text/plain", "https://example.com") },
    { method: "post", template: "/create", status: 429, send: () => { const from = peer(); return until(() => limited.request("POST", "/create", { url: uniqueUrl() }, { peer: from }), 429); } },
    { method: "post", template: "/create", status: 503, send: () => severed.request("POST", "/create", { url: uniqueUrl("severed") }) },

    { method: "get", template: "/{code}", status: 302, send: () => open.request("GET", `/${owned}`) },
    { method: "get", template: "/{code}", status: 404, send: () => open.request("GET", "/nosuchlink0") },
    { method: "get", template: "/{code}", status: 410, send: () => until(() => open.request("GET", `/${once.short_code}`), 410, 3) },
    { method: "get", template: "/{code}", status: 429, send: () => { const from = peer(); return until(() => limited.request("GET", "/nosuchlink1", undefined, { peer: from }), 429); } },
    { method: "get", template: "/{code}", status: 503, send: () => severed.request("GET", `/${owned}`) },
    { method: "get", template: "/{code}", status: 401, send: () => open.request("GET", `/${locked}`) },
    { method: "get", template: "/{code}", status: 451, send: async () => (await block(), open.request("GET", `/${blockedCode}`)) },
    { method: "post", template: "/{code}", status: 451, send: async () => (await block(), unlock(blockedCode, "x")()) },

    { method: "post", template: "/api/report", status: 202, send: () => open.request("POST", "/api/report", { code: owned, reason: "spec check" }, { peer: peer() }) },
    { method: "post", template: "/api/report", status: 400, send: () => open.request("POST", "/api/report", { code: owned }, { peer: peer() }) },
    { method: "post", template: "/api/report", status: 413, send: () => open.request("POST", "/api/report", { code: owned, reason: big }, { peer: peer() }) },
    { method: "post", template: "/api/report", status: 415, send: text("POST", "/api/report", "text/plain", "{}") },
    { method: "post", template: "/api/report", status: 429, send: () => { const from = peer(); return until(() => open.request("POST", "/api/report", { code: owned, reason: "again" }, { peer: from }), 429, 12); } },
    { method: "post", template: "/api/report", status: 503, send: () => severed.request("POST", "/api/report", { code: owned, reason: "severed" }, { peer: peer() }) },
    { method: "get", template: "/api/admin/reports", status: 200, send: () => open.request("GET", "/api/admin/reports?limit=5", undefined, auth(admin)) },
    { method: "get", template: "/api/admin/reports", status: 400, send: () => open.request("GET", "/api/admin/reports?limit=0", undefined, auth(admin)) },
    { method: "get", template: "/api/admin/reports", status: 401, send: () => open.request("GET", "/api/admin/reports") },
    { method: "get", template: "/api/admin/reports", status: 403, send: () => open.request("GET", "/api/admin/reports", undefined, auth(key)) },
    { method: "get", template: "/api/admin/reports", status: 503, send: () => severed.request("GET", "/api/admin/reports", undefined, auth(admin)) },

    { method: "patch", template: "/api/admin/links/{code}", status: 200, send: () => open.request("PATCH", `/api/admin/links/${owned}`, { disabled: false }, auth(admin)) },
    { method: "patch", template: "/api/admin/links/{code}", status: 400, send: () => open.request("PATCH", `/api/admin/links/${owned}`, { disabled: true }, auth(admin)) },
    { method: "patch", template: "/api/admin/links/{code}", status: 401, send: () => open.request("PATCH", `/api/admin/links/${owned}`, { disabled: false }) },
    { method: "patch", template: "/api/admin/links/{code}", status: 403, send: () => open.request("PATCH", `/api/admin/links/${owned}`, { disabled: false }, auth(key)) },
    { method: "patch", template: "/api/admin/links/{code}", status: 404, send: () => open.request("PATCH", "/api/admin/links/nosuchlink7", { disabled: false }, auth(admin)) },
    { method: "patch", template: "/api/admin/links/{code}", status: 413, send: () => open.request("PATCH", `/api/admin/links/${owned}`, { disabled: true, reason: big }, auth(admin)) },
    { method: "patch", template: "/api/admin/links/{code}", status: 415, send: text("PATCH", `/api/admin/links/${owned}`, "text/plain", "{}", auth(admin).headers) },
    { method: "patch", template: "/api/admin/links/{code}", status: 503, send: () => severed.request("PATCH", `/api/admin/links/${owned}`, { disabled: false }, auth(admin)) },

    { method: "post", template: "/{code}", status: 302, send: unlock(locked, "spec-secret") },
    { method: "post", template: "/{code}", status: 400, send: unlock(locked, 7) },
    { method: "post", template: "/{code}", status: 401, send: unlock(locked, "wrong", peer()) },
    { method: "post", template: "/{code}", status: 404, send: unlock("nosuchlink9", "x") },
    { method: "post", template: "/{code}", status: 410, send: () => until(unlock(lockedOnce, "spec-secret"), 410, 3) },
    { method: "post", template: "/{code}", status: 413, send: unlock(locked, "x".repeat(5000)) },
    { method: "post", template: "/{code}", status: 415, send: text("POST", `/${locked}`, "text/plain", "password=x") },
    { method: "post", template: "/{code}", status: 429, send: () => { const from = peer(); return until(unlock(locked, "wrong", from), 429, 8); } },
    { method: "post", template: "/{code}", status: 503, send: () => severed.request("POST", `/${owned}`, { password: "x" }) },

    { method: "get", template: "/api/links", status: 200, send: () => open.request("GET", "/api/links?limit=2", undefined, auth(key)) },
    { method: "get", template: "/api/links", status: 400, send: () => open.request("GET", "/api/links?limit=0", undefined, auth(key)) },
    { method: "get", template: "/api/links", status: 401, send: () => open.request("GET", "/api/links") },
    { method: "get", template: "/api/links", status: 429, send: wrongKey("/api/links") },
    { method: "get", template: "/api/links", status: 503, send: () => severed.request("GET", "/api/links", undefined, auth(key)) },

    { method: "get", template: "/api/links/export", status: 200, send: () => open.request("GET", "/api/links/export", undefined, auth(key)) },
    { method: "get", template: "/api/links/export", status: 401, send: () => open.request("GET", "/api/links/export") },
    { method: "get", template: "/api/links/export", status: 429, send: wrongKey("/api/links/export") },
    { method: "get", template: "/api/links/export", status: 503, send: () => severed.request("GET", "/api/links/export", undefined, auth(key)) },

    { method: "post", template: "/api/links/bulk", status: 200, send: () => open.request("POST", "/api/links/bulk", { links: [{ url: uniqueUrl("bulk") }, { url: "not a url" }] }, auth(key)) },
    { method: "post", template: "/api/links/bulk", status: 400, send: () => open.request("POST", "/api/links/bulk", { links: [] }, auth(key)) },
    { method: "post", template: "/api/links/bulk", status: 401, send: () => open.request("POST", "/api/links/bulk", { links: [{ url: uniqueUrl() }] }) },
    { method: "post", template: "/api/links/bulk", status: 413, send: text("POST", "/api/links/bulk", "application/json", "x".repeat(4 * 1024 * 1024 + 10), auth(key).headers) },
    { method: "post", template: "/api/links/bulk", status: 415, send: text("POST", "/api/links/bulk", "text/plain", "{}", auth(key).headers) },
    { method: "post", template: "/api/links/bulk", status: 429, send: wrongKey("/api/links/bulk", "POST") },

    { method: "post", template: "/api/links/import", status: 200, send: text("POST", "/api/links/import", "application/x-ndjson", `${JSON.stringify({ url: uniqueUrl("import") })}\n{"url":7}\n`, auth(key).headers) },
    { method: "post", template: "/api/links/import", status: 400, send: text("POST", "/api/links/import", "text/csv", "name,place\na,b\n", auth(key).headers) },
    { method: "post", template: "/api/links/import", status: 401, send: text("POST", "/api/links/import", "text/csv", "url\nhttps://example.com\n") },
    { method: "post", template: "/api/links/import", status: 413, send: text("POST", "/api/links/import", "application/x-ndjson", `${JSON.stringify({ url: uniqueUrl() })}\n`.repeat(100), auth(key).headers) },
    { method: "post", template: "/api/links/import", status: 415, send: text("POST", "/api/links/import", "text/plain", "x", auth(key).headers) },
    { method: "post", template: "/api/links/import", status: 429, send: wrongKey("/api/links/import", "POST") },

    { method: "get", template: "/api/links/{code}", status: 200, send: () => open.request("GET", `/api/links/${owned}`, undefined, auth(key)) },
    { method: "get", template: "/api/links/{code}", status: 401, send: () => open.request("GET", `/api/links/${owned}`) },
    { method: "get", template: "/api/links/{code}", status: 404, send: () => open.request("GET", `/api/links/${once.short_code}`, undefined, auth(key)) },
    { method: "get", template: "/api/links/{code}", status: 429, send: wrongKey(`/api/links/${owned}`) },
    { method: "get", template: "/api/links/{code}", status: 503, send: () => severed.request("GET", `/api/links/${owned}`, undefined, auth(key)) },

    { method: "patch", template: "/api/links/{code}", status: 200, send: () => open.request("PATCH", `/api/links/${owned}`, { max_visits: 1000 }, auth(key)) },
    { method: "patch", template: "/api/links/{code}", status: 400, send: () => open.request("PATCH", `/api/links/${owned}`, {}, auth(key)) },
    { method: "patch", template: "/api/links/{code}", status: 401, send: () => open.request("PATCH", `/api/links/${owned}`, { max_visits: 5 }) },
    { method: "patch", template: "/api/links/{code}", status: 404, send: () => open.request("PATCH", "/api/links/nosuchlink2", { max_visits: 5 }, auth(key)) },
    { method: "patch", template: "/api/links/{code}", status: 413, send: () => open.request("PATCH", `/api/links/${owned}`, { url: `https://example.com/${big}` }, auth(key)) },
    { method: "patch", template: "/api/links/{code}", status: 415, send: text("PATCH", `/api/links/${owned}`, "text/plain", "{}", auth(key).headers) },
    { method: "patch", template: "/api/links/{code}", status: 429, send: wrongKey(`/api/links/${owned}`, "PATCH") },
    { method: "patch", template: "/api/links/{code}", status: 503, send: () => severed.request("PATCH", `/api/links/${owned}`, { max_visits: 5 }, auth(key)) },

    { method: "delete", template: "/api/links/{code}", status: 204, send: () => open.request("DELETE", `/api/links/${doomed.short_code}`, undefined, auth(key)) },
    { method: "delete", template: "/api/links/{code}", status: 401, send: () => open.request("DELETE", `/api/links/${owned}`) },
    { method: "delete", template: "/api/links/{code}", status: 404, send: () => open.request("DELETE", "/api/links/nosuchlink3", undefined, auth(key)) },
    { method: "delete", template: "/api/links/{code}", status: 429, send: wrongKey(`/api/links/${owned}`, "DELETE") },
    { method: "delete", template: "/api/links/{code}", status: 503, send: () => severed.request("DELETE", `/api/links/${owned}`, undefined, auth(key)) },

    { method: "get", template: "/api/stats", status: 200, send: () => open.request("GET", "/api/stats?limit=3", undefined, auth(key)) },
    { method: "get", template: "/api/stats", status: 400, send: () => open.request("GET", "/api/stats?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", undefined, auth(key)) },
    { method: "get", template: "/api/stats", status: 401, send: () => open.request("GET", "/api/stats") },
    { method: "get", template: "/api/stats", status: 429, send: wrongKey("/api/stats") },
    { method: "get", template: "/api/stats", status: 503, send: () => severed.request("GET", "/api/stats", undefined, auth(key)) },

    { method: "get", template: "/api/links/{code}/stats", status: 200, send: () => open.request("GET", `/api/links/${owned}/stats?granularity=day`, undefined, auth(key)) },
    { method: "get", template: "/api/links/{code}/stats", status: 400, send: () => open.request("GET", `/api/links/${owned}/stats?granularity=week`, undefined, auth(key)) },
    { method: "get", template: "/api/links/{code}/stats", status: 401, send: () => open.request("GET", `/api/links/${owned}/stats`) },
    { method: "get", template: "/api/links/{code}/stats", status: 404, send: () => open.request("GET", `/api/links/${once.short_code}/stats`, undefined, auth(key)) },
    { method: "get", template: "/api/links/{code}/stats", status: 429, send: wrongKey(`/api/links/${owned}/stats`) },
    { method: "get", template: "/api/links/{code}/stats", status: 503, send: () => severed.request("GET", `/api/links/${owned}/stats`, undefined, auth(key)) },

    { method: "get", template: "/api/links/{code}/stats.csv", status: 200, send: () => open.request("GET", `/api/links/${owned}/stats.csv`, undefined, auth(key)) },
    { method: "get", template: "/api/links/{code}/stats.csv", status: 400, send: () => open.request("GET", `/api/links/${owned}/stats.csv?from=yesterday`, undefined, auth(key)) },
    { method: "get", template: "/api/links/{code}/stats.csv", status: 401, send: () => open.request("GET", `/api/links/${owned}/stats.csv`) },
    { method: "get", template: "/api/links/{code}/stats.csv", status: 404, send: () => open.request("GET", `/api/links/${once.short_code}/stats.csv`, undefined, auth(key)) },
    { method: "get", template: "/api/links/{code}/stats.csv", status: 429, send: wrongKey(`/api/links/${owned}/stats.csv`) },
    { method: "get", template: "/api/links/{code}/stats.csv", status: 503, send: () => severed.request("GET", `/api/links/${owned}/stats.csv`, undefined, auth(key)) },
    { method: "get", template: "/api/tags", status: 200, send: () => open.request("GET", "/api/tags", undefined, auth(key)) },
    { method: "get", template: "/api/tags", status: 401, send: () => open.request("GET", "/api/tags") },
    { method: "get", template: "/api/tags", status: 429, send: wrongKey("/api/tags") },
    { method: "get", template: "/api/tags", status: 503, send: () => severed.request("GET", "/api/tags", undefined, auth(key)) },

    { method: "get", template: "/api/links/{code}/qr", status: 200, send: () => open.request("GET", `/api/links/${owned}/qr?format=svg`, undefined, auth(key)) },
    {
      method: "get",
      template: "/api/links/{code}/qr",
      status: 304,
      send: async () => {
        const first = await open.request("GET", `/api/links/${owned}/qr`, undefined, auth(key));
        return open.request("GET", `/api/links/${owned}/qr`, undefined, { headers: { ...auth(key).headers, "if-none-match": first.headers.get("etag") ?? "" } });
      },
    },
    { method: "get", template: "/api/links/{code}/qr", status: 400, send: () => open.request("GET", `/api/links/${owned}/qr?format=gif`, undefined, auth(key)) },
    { method: "get", template: "/api/links/{code}/qr", status: 401, send: () => open.request("GET", `/api/links/${owned}/qr`) },
    { method: "get", template: "/api/links/{code}/qr", status: 404, send: () => open.request("GET", `/api/links/${once.short_code}/qr`, undefined, auth(key)) },
    { method: "get", template: "/api/links/{code}/qr", status: 429, send: wrongKey(`/api/links/${owned}/qr`) },
    { method: "get", template: "/api/links/{code}/qr", status: 503, send: () => severed.request("GET", `/api/links/${owned}/qr`, undefined, auth(key)) },

    { method: "get", template: "/api/links/{code}/stats/{dimension}", status: 200, send: () => open.request("GET", `/api/links/${owned}/stats/country?limit=3`, undefined, auth(key)) },
    { method: "get", template: "/api/links/{code}/stats/{dimension}", status: 400, send: () => open.request("GET", `/api/links/${owned}/stats/colour`, undefined, auth(key)) },
    { method: "get", template: "/api/links/{code}/stats/{dimension}", status: 401, send: () => open.request("GET", `/api/links/${owned}/stats/country`) },
    { method: "get", template: "/api/links/{code}/stats/{dimension}", status: 404, send: () => open.request("GET", `/api/links/${once.short_code}/stats/country`, undefined, auth(key)) },
    { method: "get", template: "/api/links/{code}/stats/{dimension}", status: 429, send: wrongKey(`/api/links/${owned}/stats/os`) },
    { method: "get", template: "/api/links/{code}/stats/{dimension}", status: 503, send: () => severed.request("GET", `/api/links/${owned}/stats/device`, undefined, auth(key)) },

    ...(["/metrics", "/api/metrics", "/api/topology"] as const).flatMap((path) => [
      { method: "get", template: path, status: 200, send: () => open.request("GET", path, undefined, auth(admin)) },
      { method: "get", template: path, status: 401, send: () => open.request("GET", path) },
      { method: "get", template: path, status: 403, send: () => open.request("GET", path, undefined, auth(key)) },
      { method: "get", template: path, status: 429, send: wrongKey(path) },
    ]),
    { method: "get", template: "/api/topology", status: 503, send: () => severed.request("GET", "/api/topology") },

    { method: "get", template: "/api/admin/blocklist", status: 200, send: () => open.request("GET", "/api/admin/blocklist", undefined, auth(admin)) },
    { method: "get", template: "/api/admin/blocklist", status: 401, send: () => open.request("GET", "/api/admin/blocklist") },
    { method: "get", template: "/api/admin/blocklist", status: 403, send: () => open.request("GET", "/api/admin/blocklist", undefined, auth(key)) },
    { method: "post", template: "/api/admin/blocklist", status: 201, send: () => open.request("POST", "/api/admin/blocklist", { host: `new-${run}.blocked.test`, note: "spec" }, auth(admin)) },
    { method: "post", template: "/api/admin/blocklist", status: 200, send: () => open.request("POST", "/api/admin/blocklist", { host: `NEW-${run}.blocked.test.` }, auth(admin)) },
    { method: "post", template: "/api/admin/blocklist", status: 400, send: () => open.request("POST", "/api/admin/blocklist", { host: "com" }, auth(admin)) },
    { method: "post", template: "/api/admin/blocklist", status: 401, send: () => open.request("POST", "/api/admin/blocklist", { host: API_HOST }) },
    { method: "post", template: "/api/admin/blocklist", status: 403, send: () => open.request("POST", "/api/admin/blocklist", { host: API_HOST }, auth(key)) },
    { method: "post", template: "/api/admin/blocklist", status: 413, send: () => open.request("POST", "/api/admin/blocklist", { host: API_HOST, note: big }, auth(admin)) },
    { method: "post", template: "/api/admin/blocklist", status: 415, send: text("POST", "/api/admin/blocklist", "text/plain", "{}", auth(admin).headers) },
    { method: "post", template: "/api/admin/blocklist", status: 503, send: () => severed.request("POST", "/api/admin/blocklist", { host: `severed-${run}.blocked.test` }, auth(admin)) },
    { method: "delete", template: "/api/admin/blocklist", status: 204, send: () => open.request("DELETE", `/api/admin/blocklist?host=new-${run}.blocked.test`, undefined, auth(admin)) },
    { method: "delete", template: "/api/admin/blocklist", status: 400, send: () => open.request("DELETE", "/api/admin/blocklist?host=*", undefined, auth(admin)) },
    { method: "delete", template: "/api/admin/blocklist", status: 401, send: () => open.request("DELETE", `/api/admin/blocklist?host=${API_HOST}`) },
    { method: "delete", template: "/api/admin/blocklist", status: 403, send: () => open.request("DELETE", `/api/admin/blocklist?host=${API_HOST}`, undefined, auth(key)) },
    { method: "delete", template: "/api/admin/blocklist", status: 404, send: () => open.request("DELETE", `/api/admin/blocklist?host=never-${run}.blocked.test`, undefined, auth(admin)) },
    { method: "delete", template: "/api/admin/blocklist", status: 409, send: () => open.request("DELETE", `/api/admin/blocklist?host=${FILE_HOST}`, undefined, auth(admin)) },
    { method: "delete", template: "/api/admin/blocklist", status: 503, send: () => severed.request("DELETE", `/api/admin/blocklist?host=${API_HOST}`, undefined, auth(admin)) },

    { method: "get", template: "/health/live", status: 200, send: () => open.request("GET", "/health/live") },
    { method: "get", template: "/health/ready", status: 200, send: () => open.request("GET", "/health/ready") },
    { method: "get", template: "/health/ready", status: 503, send: () => severed.request("GET", "/health/ready") },
  ];
}

/** What is wrong with `res` as the spec's answer for `c`, or null. */
async function problemWith(c: Case, res: Response): Promise<string | null> {
  const name = `${c.method.toUpperCase()} ${c.template} (${c.status})`;
  if (res.status !== c.status) return `${name}: answered ${res.status}: ${(await res.text()).slice(0, 200)}`;
  const listed = spec.paths[c.template]?.[c.method]?.responses[String(c.status)];
  if (!listed) return `${name}: not a status the spec lists`;
  const body = await res.text();
  if (!listed.content) return body === "" ? null : `${name}: the spec lists no body, got ${body.slice(0, 80)}`;
  const type = (res.headers.get("content-type") ?? "").split(";")[0]!.trim();
  const media = listed.content[type];
  if (!media) return `${name}: content-type ${type || "none"}, the spec lists ${Object.keys(listed.content).join(", ")}`;
  const values = type === "application/json" ? [JSON.parse(body)] : type === "application/x-ndjson" ? body.trim().split("\n").map((l) => JSON.parse(l)) : [body];
  if (values.length === 0) return `${name}: empty body`;
  const schema = z.fromJSONSchema(media.schema as never);
  for (const value of values) {
    const parsed = schema.safeParse(value);
    if (!parsed.success) return `${name}: ${JSON.stringify(parsed.error.issues[0])} in ${JSON.stringify(value).slice(0, 200)}`;
  }
  return null;
}

test("every route answers every status its spec lists, and each answer validates against that status's schema", async () => {
  const all = await cases();
  const problems: string[] = [];
  // The severed server's cases run last, after its nodes are cut.
  for (const c of all.filter((c) => c.status !== 503)) {
    const problem = await problemWith(c, await c.send());
    if (problem) problems.push(problem);
  }
  // Known to the severed server before the cut: its key ring then answers from memory.
  expect((await severed.request("GET", "/api/links?limit=1", undefined, auth(key))).status).toBe(200);
  for (const relay of relays) relay.cut();
  for (const c of all.filter((c) => c.status === 503)) {
    const problem = await problemWith(c, await c.send());
    if (problem) problems.push(problem);
  }
  expect(problems).toEqual([]);

  const covered = new Set(all.map((c) => `${c.method} ${c.template} ${c.status}`));
  const promised = Object.entries(spec.paths).flatMap(([template, ops]) => Object.entries(ops).flatMap(([method, op]) => Object.keys(op.responses).map((status) => `${method} ${template} ${status}`)));
  expect(promised.filter((p) => !covered.has(p))).toEqual([]);
  expect(promised.length).toBeGreaterThan(50);
}, 120_000);
