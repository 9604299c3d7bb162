import { TOPOLOGY_CHANNEL } from "../../src/storage/redis-keys";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Redis from "ioredis";
import { mkdirSync, statSync } from "node:fs";
import { dirname } from "node:path";
import type { Browser, Page } from "playwright-core";
import { launchBrowser, watchPage, type PageProblems } from "../support/browser";
import { makeKey } from "../support/keys";
import { eventually, startServer, type ServerProcess } from "../../harness/server-process";
import { clusterConfig, uniqueUrl } from "../../harness/system";

/**
 * The dashboard in a real Chromium against a real server process on the test cluster: it loads
 * cleanly, shows a write and a read for a link made through its form, shows the backend's own
 * cache figures (memory hits too), the Clicks panel, and topology (as GET /api/topology answers it, and as a pushed view changes it),
 * shows an owner's edit and delete of a link and a used-up link's GONE read, and reconnects by itself after the server restarts.
 * It also refreshes docs/dashboard.png.
 */

// page.evaluate bodies run in the browser; the project compiles without the DOM lib, so this
// module declares the little of it those bodies use.
interface DomElement {
  dataset: Record<string, string | undefined>;
  textContent: string | null;
  getAttribute(name: string): string | null;
  querySelector(selector: string): DomElement | null;
}
declare const document: { getElementById(id: string): DomElement | null; querySelector(selector: string): DomElement | null; querySelectorAll(selector: string): Iterable<DomElement> };

const ENV: Record<string, string> = { RATE_LIMIT_ENABLED: "false", SHUTDOWN_DRAIN_MS: "0" };
// The name the server acknowledges the ring under (src/composition/server.ts: `instance-${INSTANCE_ID}`, default 0).
const INSTANCE = `instance-${ENV.INSTANCE_ID ?? process.env.INSTANCE_ID ?? "0"}`;
// The channel the topology agent forwards `{"kind":"topology"}` messages from (src/topology/topology-agent.ts).
// The README's picture is refreshed only on request (UPDATE_SCREENSHOT=1), so a test run leaves the tree clean.
const SCREENSHOT = new URL(process.env.UPDATE_SCREENSHOT === "1" ? "../../docs/dashboard.png" : "../../test-results/dashboard.png", import.meta.url).pathname;
// Socket and fetch failures Chromium itself logs while the server is down during the restart.
const EXPECTED_WHILE_DOWN = /WebSocket connection to '.*' failed|ERR_CONNECTION_REFUSED|ERR_CONNECTION_RESET|ERR_EMPTY_RESPONSE/;

let server: ServerProcess;
let browser: Browser;
let page: Page;
let problems: PageProblems;
let code = "";
let longUrl = "";

const row = (type: string, status: string, shortCode: string) => `#event-feed tr[data-type="${type}"][data-status="${status}"][data-code="${shortCode}"]`;

interface Shown {
  at: number;
  clusterRate: string;
  clusterRateText: string;
  clusterHits: string;
  clusterMisses: string;
  instanceRate: string;
  clusterMemoryHits: string;
  instanceMemoryHits: string;
  clusterClicksTotal: string;
}

function shown(): Promise<Shown> {
  return page.evaluate(() => {
    const get = (id: string) => document.getElementById(id)!;
    return {
      at: Number(get("metrics-at").dataset.at),
      clusterRate: get("cluster-hit-rate").dataset.value ?? "",
      clusterRateText: get("cluster-hit-rate").textContent ?? "",
      clusterHits: get("cluster-hits").dataset.value ?? "",
      clusterMisses: get("cluster-misses").dataset.value ?? "",
      instanceRate: get("instance-hit-rate").dataset.value ?? "",
      clusterMemoryHits: get("cluster-memory-hits").dataset.value ?? "",
      instanceMemoryHits: get("instance-memory-hits").dataset.value ?? "",
      clusterClicksTotal: get("cluster-clicks-total").dataset.value ?? "",
    };
  });
}

/** Waits for `selector`; a timeout also says what the page and the server reported, so a CI log explains itself. */
async function waitShown(p: Page, selector: string, timeout: number, seen: PageProblems = problems): Promise<void> {
  try {
    await p.waitForSelector(selector, { timeout });
  } catch (error) {
    const status = await p.textContent("#connection-text", { timeout: 500 }).catch(() => null);
    throw new Error(
      `${(error as Error).message.split("\n")[0]} (${selector})\n  page ${p.url()}, connection text ${JSON.stringify(status)}\n  page errors: ${JSON.stringify(seen.errors())}\n  server output (tail): ${server.output().slice(-1500)}`,
    );
  }
}

async function apiMetrics(): Promise<{ at: number; cluster: Record<string, number>; instance: Record<string, number> }> {
  return (await fetch(`${server.url}/api/metrics`)).json() as never;
}

interface TopologyBody {
  version: number;
  phase: string;
  members: number[];
  target: number[] | null;
  migration: { id: string; kind: string } | null;
  instances: Array<{ instance: string; version: number; live: boolean }>;
  progress: unknown[];
}

async function apiTopology(): Promise<TopologyBody> {
  const res = await fetch(`${server.url}/api/topology`);
  expect(res.status).toBe(200);
  return res.json() as never;
}

/** What the Topology panel shows, read from its data attributes. */
function topologyShown(): Promise<{ version: string; phase: string; members: string; target: string; migration: string; instances: Record<string, Record<string, string>>; progress: Array<Record<string, string>> }> {
  return page.evaluate(() => {
    const get = (id: string) => document.getElementById(id)!;
    const data = (selector: string) => [...document.querySelectorAll(selector)].map((e) => ({ ...e.dataset }) as Record<string, string>);
    return {
      version: get("topology-version").dataset.value ?? "",
      phase: get("topology-phase").dataset.phase ?? "",
      members: get("topology-members").dataset.members ?? "",
      target: get("topology-members").dataset.target ?? "",
      migration: get("topology-migration").dataset.id ?? "",
      instances: Object.fromEntries(data("#topology-instances [data-instance]").map((d) => [d.instance!, d])),
      progress: data("#topology-progress .topo-progress-row[data-source]"),
    };
  });
}

async function createLink(url: string): Promise<string> {
  const res = await fetch(`${server.url}/create`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ url }) });
  expect(res.status).toBe(201);
  return ((await res.json()) as { short_code: string }).short_code;
}

beforeAll(async () => {
  browser = await launchBrowser();
  server = await startServer(ENV);
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  problems = watchPage(page);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe("dashboard", () => {
  test("loads, connects and shows a metrics push with no console or page errors", async () => {
    const root = await fetch(`${server.url}/`, { redirect: "manual" });
    expect(root.status).toBe(302);
    expect(root.headers.get("location")).toBe("/dashboard/");

    // The server also answers /dashboard (no slash); the page's assets must still load there.
    const other = await browser.newPage();
    const otherProblems = watchPage(other);
    await other.goto(`${server.url}/dashboard`);
    await waitShown(other, '#connection-status[data-state="connected"]', 10_000, otherProblems);
    await other.close();
    expect(otherProblems.errors()).toEqual([]);

    await page.goto(`${server.url}/dashboard/`, { waitUntil: "load" });
    expect(await page.title()).toContain("Shorten");
    await waitShown(page, '#connection-status[data-state="connected"]', 10_000);
    await waitShown(page, "#metrics-at[data-at]", 10_000);
    expect(await page.textContent("#connection-text")).toBe("Connected");
    expect(problems.errors()).toEqual([]);
  }, 30_000);

  test("creating a link with the form shows its write event", async () => {
    longUrl = `https://example.com/dashboard-test/${crypto.randomUUID()}`;
    await page.fill("#create-url", longUrl);
    await page.click("#create-submit");
    const link = page.locator("#created-link");
    await link.waitFor({ state: "visible", timeout: 10_000 });
    const shortUrl = (await link.getAttribute("href"))!;
    code = new URL(shortUrl).pathname.slice(1);
    expect(code).toMatch(/^[0-9A-Za-z]{1,11}$/);
    expect(await link.textContent()).toBe(shortUrl);

    await waitShown(page, row("write", "OK", code), 10_000);
    expect(await page.locator(row("write", "OK", code)).first().textContent()).toContain(code);
    expect(problems.errors()).toEqual([]);
  }, 30_000);

  test("following it shows read events", async () => {
    await page.click("#follow-button");
    await waitShown(page, row("read", "OK", code), 10_000);

    const res = await fetch(`${server.url}/${code}`, { redirect: "manual" });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe(longUrl);
    expect(["HIT", "MISS"]).toContain(res.headers.get("x-cache")!);
    await eventually(async () => ((await page.locator(row("read", "OK", code)).count()) >= 2 ? true : undefined), "a second read row", 10_000);
    expect(problems.errors()).toEqual([]);
  }, 30_000);

  test("shows exactly the backend's cluster hit rate for the same push", async () => {
    // A third read: the link is cached by now, so the figures include at least one hit.
    expect((await fetch(`${server.url}/${code}`, { redirect: "manual" })).status).toBe(302);
    const { api, page: onPage } = await eventually(
      async () => {
        const api = await apiMetrics();
        if (!api.at || api.instance.cache_total! < 3) return undefined;
        const onPage = await shown();
        return onPage.at === api.at ? { api, page: onPage } : undefined;
      }, "the page to show the push /api/metrics returns", 15_000);
    expect(api.cluster.cache_hit_count).toBeGreaterThan(0);
    expect(onPage.clusterRate).toBe(String(api.cluster.cache_hit_rate));
    expect(onPage.clusterRateText).toBe(`${(api.cluster.cache_hit_rate! * 100).toFixed(1)}%`);
    expect(onPage.clusterHits).toBe(String(api.cluster.cache_hit_count));
    expect(onPage.clusterMisses).toBe(String(api.cluster.cache_miss_count));
    expect(onPage.instanceRate).toBe(String(api.instance.cache_hit_rate));
  }, 30_000);

  test("the Clicks panel lists a clicked link, and the memory hits match /api/metrics", async () => {
    const clicked = await createLink(`https://example.com/clicks/${crypto.randomUUID()}`);
    for (let i = 0; i < 5; i++) expect((await fetch(`${server.url}/${clicked}`, { redirect: "manual" })).status).toBe(302);

    // The top list ages (halves every flush), so the row is waited for soon after the clicks.
    const topRow = `#top-links tr[data-code="${clicked}"]`;
    await waitShown(page, topRow, 10_000);
    const link = await page.evaluate((selector) => {
      const a = document.querySelector(`${selector} a`)!;
      return { href: a.getAttribute("href"), target: a.getAttribute("target"), rel: a.getAttribute("rel"), text: a.textContent, clicks: document.querySelector(selector)!.dataset.clicks ?? "" };
    }, topRow);
    expect(link).toMatchObject({ href: `/${clicked}`, target: "_blank", rel: "noopener", text: clicked });
    expect(Number(link.clicks)).toBeGreaterThan(0);
    await page.waitForFunction(() => Number(document.getElementById("cluster-clicks-total")?.dataset.value || 0) >= 5, undefined, { timeout: 10_000 });

    // Same push on both sides, as for the hit rate: the page's #metrics-at is the push's `at`.
    const { api, page: onPage } = await eventually(
      async () => {
        const api = await apiMetrics();
        if (!api.at || (api.cluster.clicks_total ?? 0) < 5) return undefined;
        const onPage = await shown();
        return onPage.at === api.at ? { api, page: onPage } : undefined;
      }, "the page to show the push /api/metrics returns", 15_000);
    // Reads 2..5 came within the hot-link cache's TTL of the first: at least some were memory hits.
    expect(api.cluster.memory_hits).toBeGreaterThan(0);
    expect(api.cluster.memory_hits).toBeLessThanOrEqual(api.cluster.cache_hit_count!);
    expect(onPage.clusterMemoryHits).toBe(String(api.cluster.memory_hits));
    expect(onPage.instanceMemoryHits).toBe(String(api.instance.memory_hits));
    expect(onPage.clusterClicksTotal).toBe(String(api.cluster.clicks_total));
    expect(problems.errors()).toEqual([]);
  }, 30_000);

  test("the Audience panel shows the backend's humans, bots and top values of the same push", async () => {
    const clicked = await createLink(`https://example.com/audience/${crypto.randomUUID()}`);
    const phone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
    for (let i = 0; i < 3; i++) expect((await fetch(`${server.url}/${clicked}`, { redirect: "manual", headers: { "user-agent": phone, referer: "https://t.co/abc" } })).status).toBe(302);
    expect((await fetch(`${server.url}/${clicked}`, { redirect: "manual", headers: { "user-agent": "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)" } })).status).toBe(302);
    type Audience = { humans: number; bots: number; top: Record<string, Array<{ value: string; clicks: number }>> };
    const { api, onPage } = await eventually(
      async () => {
        const metrics = (await apiMetrics()) as unknown as { at: number; cluster: { audience: Audience | null } };
        const a = metrics.cluster.audience;
        if (!a || a.humans < 3 || a.bots < 1 || !a.top.referrer!.some((t) => t.value === "t.co")) return undefined;
        const onPage = await page.evaluate(() => ({
          at: Number(document.getElementById("metrics-at")?.dataset.at),
          humans: document.getElementById("audience-humans")?.dataset.value,
          bots: document.getElementById("audience-bots")?.dataset.value,
          devices: [...document.querySelectorAll("#audience-device li")].map((li) => `${li.dataset.value}:${li.dataset.clicks}`),
          referrers: [...document.querySelectorAll("#audience-referrer li")].map((li) => `${li.dataset.value}:${li.dataset.clicks}`),
          empty: document.getElementById("audience-empty")?.getAttribute("hidden"),
        }));
        return onPage.at === metrics.at ? { api: a, onPage } : undefined;
      },
      "the page to show the audience /api/metrics returns",
      15_000,
    );
    expect([onPage.humans, onPage.bots]).toEqual([String(api.humans), String(api.bots)]);
    expect(onPage.devices).toEqual(api.top.device!.map((t) => `${t.value}:${t.clicks}`));
    expect(onPage.referrers).toEqual(api.top.referrer!.map((t) => `${t.value}:${t.clicks}`));
    expect(onPage.devices.some((d) => d.startsWith("mobile:"))).toBe(true);
    expect(onPage.empty).not.toBeNull();
    expect(problems.errors()).toEqual([]);
  }, 30_000);

  test("the Topology panel shows GET /api/topology, then a pushed view", async () => {
    const api = await apiTopology();
    const mine = api.instances.find((i) => i.instance === INSTANCE);
    expect(mine).toBeDefined();
    expect(mine!.live).toBe(true);
    // The panel is drawn from the same endpoint once the socket confirms the topic.
    await waitShown(page, `#topology-version[data-value="${api.version}"]`, 10_000);
    await waitShown(page, `#topology-phase[data-phase="${api.phase}"]`, 5000);
    await waitShown(page, `#topology-instances [data-instance="${INSTANCE}"]`, 5000);
    const before = await topologyShown();
    expect(before.version).toBe(String(api.version));
    expect(before.phase).toBe(api.phase);
    expect(before.members).toBe(api.members.join(","));
    expect(before.target).toBe(api.target ? api.target.join(",") : "");
    expect(before.instances[INSTANCE]).toMatchObject({ version: String(mine!.version), live: "true" });
    expect(mine!.version).toBe(api.version);
    expect(before.instances[INSTANCE]!.state).toBe("current");

    // A migration cannot run on the shared cluster (other suites rely on its ring), so a synthetic
    // view goes out on the push channel the agent forwards to the socket. Same version as the
    // catalog's: a higher one would only make the agent re-read the catalog.
    const target = [...api.members, Math.max(...api.members) + 1];
    const entry = (source: number, scanned: number) => ({ step: "copy", source, table: "links", scanned, total: 100, moved: 10, rows_per_s: 1000, eta_s: 0.05, done: false });
    const pushed = { ...api, kind: "topology", phase: "copy", target, migration: { id: "m-test", kind: "add" }, progress: [entry(0, 50), entry(1, 75)] };
    const redis = new Redis(process.env.REDIS_NODES!.split(",")[0]!, { maxRetriesPerRequest: 1, lazyConnect: true });
    try {
      await redis.connect();
      expect(await redis.publish(TOPOLOGY_CHANNEL, JSON.stringify(pushed))).toBeGreaterThan(0);
      await waitShown(page, '#topology-phase[data-phase="copy"]', 10_000);
      await waitShown(page, "#topology-progress .topo-progress-row[data-source]", 5000);
      const during = await topologyShown();
      expect(during.phase).toBe("copy");
      expect(during.version).toBe(String(api.version));
      expect(during.members).toBe(api.members.join(","));
      expect(during.target).toBe(target.join(","));
      expect(during.migration).toBe("m-test");
      expect(during.progress.map((p) => ({ source: p.source, table: p.table, step: p.step, scanned: p.scanned, total: p.total, moved: p.moved, done: p.done }))).toEqual([
        { source: "0", table: "links", step: "copy", scanned: "50", total: "100", moved: "10", done: "false" },
        { source: "1", table: "links", step: "copy", scanned: "75", total: "100", moved: "10", done: "false" },
      ]);
      expect(await page.getAttribute("#topology-card", "data-state")).toBe("migrating");
    } finally {
      // Put the catalog's own view back, so later tests and the screenshot see a stable panel.
      const current = await apiTopology().catch(() => api);
      await redis.publish(TOPOLOGY_CHANNEL, JSON.stringify({ ...current, kind: "topology" })).catch(() => {});
      redis.disconnect();
    }
    await waitShown(page, `#topology-phase[data-phase="${api.phase}"]`, 10_000);
    const after = await topologyShown();
    expect(after.target).toBe(api.target ? api.target.join(",") : "");
    expect(after.migration).toBe(api.migration?.id ?? "");
    expect(after.progress.length).toBe(api.progress.length);
    expect(problems.errors()).toEqual([]);
  }, 30_000);

  test("under load: NOT_FOUND rows, filters, and a screenshot for the docs", async () => {
    const codes = [code, ...(await Promise.all([1, 2, 3].map((i) => createLink(`https://example.com/load/${i}/${crypto.randomUUID()}`))))];
    const unknown = Array.from({ length: 5 }, (_, i) => `zz${i}${crypto.randomUUID().replace(/[^0-9a-f]/g, "").slice(0, 6)}`);
    // 300 redirects in waves, so the chart shows the load over a few pushes: mostly repeats of
    // four codes (cache hits) and one in ten unknown (NOT_FOUND).
    const paths = Array.from({ length: 300 }, (_, i) => (i % 10 === 9 ? unknown[Math.floor(i / 10) % unknown.length]! : codes[i % codes.length]!));
    const statuses = new Map<number, number>();
    // Waves of growing size, so requests/s visibly ramps on the chart.
    for (let start = 0, wave = 1; start < paths.length; start += wave * 5, wave++) {
      const slice = paths.slice(start, start + wave * 5);
      const results = await Promise.all(slice.map((p) => fetch(`${server.url}/${p}`, { redirect: "manual" }).then((r) => r.status)));
      for (const s of results) statuses.set(s, (statuses.get(s) ?? 0) + 1);
      await Bun.sleep(350);
    }
    expect(statuses.get(302)).toBe(270);
    expect(statuses.get(404)).toBe(30);

    await waitShown(page, '#event-feed tr[data-type="read"][data-status="NOT_FOUND"]', 10_000);
    // The feed keeps a bounded number of rows however much arrives.
    expect(await page.locator("#event-feed tr").count()).toBeLessThanOrEqual(200);

    // Filters: only read/NOT_FOUND rows left with OK, ERROR and writes unchecked.
    await page.uncheck('#feed-filters input[name="status"][value="OK"]');
    await page.uncheck('#feed-filters input[name="status"][value="ERROR"]');
    await page.uncheck('#feed-filters input[name="type"][value="write"]');
    const statusesShown = await page.$$eval("#event-feed tr", (rows) => [...new Set(rows.map((r) => `${r.getAttribute("data-type")}/${r.getAttribute("data-status")}`))]);
    expect(statusesShown).toEqual(["read/NOT_FOUND"]);
    for (const box of await page.locator('#feed-filters input[type="checkbox"]').all()) await box.check();
    expect(await page.locator('#event-feed tr[data-status="OK"]').count()).toBeGreaterThan(0);

    // Wait for a push that includes all of the load before the picture.
    await eventually(
      async () => {
        const api = await apiMetrics();
        const onPage = await shown();
        return api.instance.cache_total! >= 303 && onPage.at === api.at ? true : undefined;
      }, "a push covering the load", 15_000);
    await waitShown(page, "#shards .shard", 5000);
    await waitShown(page, "#node-health .node", 5000);
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: false });
    expect(statSync(SCREENSHOT).size).toBeLessThan(300 * 1024);
    expect(problems.errors()).toEqual([]);
  }, 60_000);

  test("an owner's edit and delete show as update and delete rows, and a used-up link's read as GONE", async () => {
    const key = await makeKey(clusterConfig(), "dash-feed");
    const auth = { authorization: `Bearer ${key.text}` };
    const json = { ...auth, "content-type": "application/json" };
    const make = async (body: Record<string, unknown>) => {
      const res = await fetch(`${server.url}/create`, { method: "POST", headers: json, body: JSON.stringify(body) });
      expect(res.status).toBe(201);
      return ((await res.json()) as { short_code: string }).short_code;
    };
    const changed = await make({ url: uniqueUrl("dash-edit") });
    await waitShown(page, row("write", "OK", changed), 10_000);

    const patched = await fetch(`${server.url}/api/links/${changed}`, { method: "PATCH", headers: json, body: JSON.stringify({ url: uniqueUrl("dash-edited") }) });
    expect(patched.status).toBe(200);
    await waitShown(page, row("update", "OK", changed), 10_000);
    const deleted = await fetch(`${server.url}/api/links/${changed}`, { method: "DELETE", headers: auth });
    expect(deleted.status).toBe(204);
    await waitShown(page, row("delete", "OK", changed), 10_000);

    // Newest first, each with its own pill, and the shard's primary like the write that made it.
    const rows = await page.$$eval(`#event-feed tr[data-code="${changed}"]`, (trs) =>
      trs.map((tr) => ({ type: tr.getAttribute("data-type"), pill: tr.querySelector(".pill")!.className, label: tr.querySelector(".pill")!.textContent, db: tr.children[4]!.textContent })),
    );
    expect(rows.map((r) => r.type)).toEqual(["delete", "update", "write"]);
    expect(rows.map((r) => [r.pill, r.label])).toEqual([["pill delete", "delete"], ["pill update", "update"], ["pill write", "write"]]);
    expect(rows[0]!.db).toMatch(/^primary-\d+$/);
    expect(new Set(rows.map((r) => r.db)).size).toBe(1);

    // They are filtered like the other types.
    await page.uncheck('#feed-filters input[name="type"][value="update"]');
    expect(await page.locator(`#event-feed tr[data-code="${changed}"]`).evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-type")))).toEqual(["delete", "write"]);
    await page.check('#feed-filters input[name="type"][value="update"]');
    expect(await page.locator(row("update", "OK", changed)).count()).toBe(1);

    const once = await make({ url: uniqueUrl("dash-once"), max_visits: 1 });
    expect((await fetch(`${server.url}/${once}`, { redirect: "manual" })).status).toBe(302);
    expect((await fetch(`${server.url}/${once}`, { redirect: "manual" })).status).toBe(410);
    await waitShown(page, row("read", "GONE", once), 10_000);
    expect(await page.textContent(`${row("read", "GONE", once)} .pill.GONE`)).toBe("GONE");
    expect(problems.errors()).toEqual([]);
  }, 30_000);

  test("the abuse reports card shows the backend's count and the newest report", async () => {
    const reason = `spam ${crypto.randomUUID().slice(0, 6)}`;
    const filed = await fetch(`${server.url}/api/report`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ code, reason }) });
    expect(filed.status).toBe(202);
    const { total } = (await (await fetch(`${server.url}/api/admin/reports?limit=1`)).json()) as { total: number };
    await page.reload();
    await page.waitForFunction((t) => (globalThis as any).document.getElementById("reports-total")?.dataset.value === String(t), total, { timeout: 10_000 });
    expect(await page.textContent("#reports-latest")).toContain(reason);
  }, 30_000);

  test("reconnects by itself after the server restarts on the same port", async () => {
    const connectsBefore = Number(await page.getAttribute("#connection-status", "data-connects"));
    const lastPush = (await shown()).at;
    const mark = problems.mark();
    const port = server.port;

    // A graceful stop with a dashboard connected exits 0 (it closes the socket with 1001 first).
    expect(await server.stop()).toBe(0);
    await waitShown(page, '#connection-status:not([data-state="connected"])', 15_000);
    server = await startServer(ENV, { port });

    await waitShown(page, '#connection-status[data-state="connected"]', 20_000);
    expect(await page.textContent("#connection-text")).toBe("Connected");
    expect(Number(await page.getAttribute("#connection-status", "data-connects"))).toBeGreaterThan(connectsBefore);
    // Not just an open socket: pushes from the new process arrive and are shown.
    await page.waitForFunction((at) => Number(document.getElementById("metrics-at")?.dataset.at) > at, lastPush, { timeout: 10_000 });

    // And it still works end to end: a new link's write reaches the page over the new socket.
    const fresh = await createLink(`https://example.com/after-restart/${crypto.randomUUID()}`);
    await waitShown(page, row("write", "OK", fresh), 10_000);

    const unexpected = problems.errorsSince(mark).filter((e) => !EXPECTED_WHILE_DOWN.test(e));
    expect(unexpected).toEqual([]);
  }, 60_000);
});
