import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, statSync } from "node:fs";
import { dirname } from "node:path";
import type { Browser, Page } from "playwright-core";
import { launchBrowser, watchPage, type PageProblems } from "../support/browser";
import { eventually, startServer, type ServerProcess } from "../support/server-process";

/**
 * The dashboard in a real Chromium against a real server process on the test cluster: it loads
 * cleanly, shows a write and a read for a link made through its form, shows the backend's own
 * cache figures, and reconnects by itself after the server restarts. It also refreshes
 * docs/dashboard.png.
 */

// page.evaluate bodies run in the browser; the project compiles without the DOM lib, so this
// module declares the little of it those bodies use.
declare const document: { getElementById(id: string): { dataset: Record<string, string | undefined>; textContent: string | null } | null };

const ENV = { RATE_LIMIT_ENABLED: "false", SHUTDOWN_DRAIN_MS: "0" };
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
