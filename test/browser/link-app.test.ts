import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import jsQR from "jsqr";
import { PNG } from "pngjs";
import type { Browser, Page } from "playwright-core";
import type { Config } from "../../src/config";
import { launchBrowser, watchPage, type PageProblems } from "../support/browser";
import { makeKey, revokeKeyNow } from "../support/keys";
import { startServer, type ServerProcess } from "../../harness/server-process";
import { clusterConfig, uniqueUrl } from "../../harness/system";

/**
 * The link owners' page (/app/) as a person uses it, in a real Chromium against a real server
 * process on the test cluster: sign in, create with a title and tags (and see the API's errors at
 * their fields), find by search and by tag, edit and see the redirect follow, QR downloads that
 * decode to the short URL with its marker and count as `source: qr`, stats that show exactly the
 * redirects made, a live click within a second, delete, and a revoked key locking the page.
 * Screenshots of each screen go to docs/app/.
 */
interface DomNode {
  dataset: Record<string, string | undefined>;
  textContent: string | null;
}
declare const document: { querySelector(s: string): DomNode | null; querySelectorAll(s: string): ArrayLike<DomNode> };

setDefaultTimeout(30_000);
const SHOTS = join(import.meta.dir, "..", "..", "docs", "app");
let server: ServerProcess;
let browser: Browser;
let config: Config;
let key: { id: string; text: string };
let page: Page;
let problems: PageProblems;
const token = `app${crypto.randomUUID().slice(0, 6)}`;
const tag = `t-${crypto.randomUUID().slice(0, 6)}`;
let code = "";
let shortUrl = "";

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  config = clusterConfig();
  key = await makeKey(config, "app-owner");
  browser = await launchBrowser();
  server = await startServer({ RATE_LIMIT_ENABLED: "false", KEYS_POLL_MS: "500", INSTANCE_ID: "46", CLICK_FLUSH_MS: "300", ANALYTICS_FLUSH_MS: "0", EVENT_FLUSH_MS: "50" });
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1100, height: 900 } });
  page = await context.newPage();
  problems = watchPage(page);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
const row = (c: string) => `#link-list li[data-code="${c}"]`;
const hop = (path: string) => fetch(`${server.url}/${path}`, { redirect: "manual" });

describe("the link owners' page", () => {
  test("a wrong key is refused with the reason; the right one signs in, kept in sessionStorage and never in a URL", async () => {
    await page.goto(`${server.url}/app`);
    await page.waitForSelector("#sign-in:not([hidden])");
    await shot("1-sign-in");
    await page.fill("#api-key", "shk_AAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBBBBBB");
    await page.click("#sign-in button[type=submit]");
    await page.waitForSelector("#sign-in-error:not(:empty)");
    expect(await page.textContent("#sign-in-error")).toContain("This key was refused");
    await page.fill("#api-key", key.text);
    await page.press("#api-key", "Enter");
    await page.waitForSelector("#links:not([hidden])");
    expect(await page.evaluate(() => sessionStorage.getItem("shorten.apiKey"))).toBe(key.text);
    expect(page.url()).not.toContain(key.text);
  });

  test("create: the API's errors appear at their field; then the link is listed with its title and tags", async () => {
    await page.click("#new-link");
    await page.fill("#f-url", "javascript:alert(1)");
    await page.click("#link-save");
    await page.waitForSelector('.error[data-for="url"]:not(:empty)');
    await page.fill("#f-url", uniqueUrl("app-create"));
    await page.fill("#f-tags", "ok, not ok");
    await page.click("#link-save");
    await page.waitForSelector('.error[data-for="tags"]:not(:empty)');
    expect(await page.textContent('.error[data-for="tags"]')).toBe("each tag must be 1-32 of a-z 0-9 -");
    await shot("3-create-error");
    await page.fill("#f-title", `Quarterly ${token}`);
    await page.fill("#f-tags", `${tag}, Reports`);
    await page.click("#link-save");
    await page.waitForSelector("#link-dialog:not([open])", { state: "attached" });
    const first = page.locator("#link-list li").first();
    await first.waitFor();
    code = (await first.getAttribute("data-code"))!;
    shortUrl = (await first.locator(".short").textContent())!;
    expect(await first.locator(".title").textContent()).toBe(`Quarterly ${token}`);
    expect(await first.locator(".tag").allTextContents()).toEqual([tag, "reports"]);
  });

  test("found by search and by tag; other links are not shown", async () => {
    for (let i = 0; i < 3; i++) await fetch(`${server.url}/create`, { method: "POST", headers: { authorization: `Bearer ${key.text}`, "content-type": "application/json" }, body: JSON.stringify({ url: uniqueUrl(`app-other-${i}`), title: "something else" }) });
    await page.reload();
    await page.waitForSelector(row(code));
    expect(await page.locator("#link-list li").count()).toBeGreaterThan(1);
    await page.fill("#search", token.toUpperCase());
    await page.waitForFunction((c) => document.querySelectorAll("#link-list li").length === 1 && document.querySelector(`#link-list li[data-code="${c}"]`) !== null, code);
    await page.fill("#search", "");
    await page.waitForFunction(() => document.querySelectorAll("#link-list li").length > 1);
    await page.selectOption("#tag-filter", tag);
    await page.waitForFunction((c) => document.querySelectorAll("#link-list li").length === 1 && document.querySelector(`#link-list li[data-code="${c}"]`) !== null, code);
    await shot("2-links");
    await page.selectOption("#tag-filter", "");
  });

  test("edit the target: the short URL redirects to the new one", async () => {
    const target = uniqueUrl("app-edited");
    await page.click(`${row(code)} [data-action=edit]`);
    await page.fill("#f-url", target);
    await page.click("#link-save");
    await page.waitForFunction(([c, t]) => document.querySelector(`#link-list li[data-code="${c}"] .target`)?.textContent === t, [code, target]);
    const res = await hop(code);
    expect([res.status, res.headers.get("location")]).toEqual([302, target]);
  });

  test("QR: SVG and PNG downloads decode to the short URL with the scan marker", async () => {
    await page.click(`${row(code)} [data-action=qr]`);
    await page.waitForSelector("#qr-image svg");
    await shot("4-qr");
    const [png] = await Promise.all([page.waitForEvent("download"), page.click("#qr-png")]);
    const image = PNG.sync.read(readFileSync((await png.path())!));
    expect(jsQR(new Uint8ClampedArray(image.data), image.width, image.height)?.data).toBe(`${shortUrl}?qr=1`);
    const [svg] = await Promise.all([page.waitForEvent("download"), page.click("#qr-svg")]);
    expect(svg.suggestedFilename()).toBe(`${code}.svg`);
    const pixels = await rasterise(readFileSync((await svg.path())!, "utf8"));
    expect(jsQR(pixels.data, pixels.width, pixels.height)?.data).toBe(`${shortUrl}?qr=1`);
    await page.click("#qr-dialog [data-close]");
  });

  test("stats: after a scan and N redirects the figures, the chart and the breakdowns show exactly them; a live click within a second", async () => {
    // The edit's check above was a redirect too: counted once flushed.
    const base = 1;
    const scan = await hop(`${code}?qr=1`);
    expect(scan.status).toBe(302);
    const n = 4;
    for (let i = 0; i < n; i++) await fetch(`${server.url}/${code}`, { redirect: "manual", headers: { "user-agent": "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", referer: "https://news.example/item" } });
    await page.click(`${row(code)} [data-action=stats]`);
    const total = String(base + n + 1);
    await waitForFigures(total);
    expect(await page.getAttribute("#s-chart svg", "data-total")).toBe(total);
    const breakdown = (d: string) => page.evaluate((dim) => Array.from(document.querySelectorAll(`.breakdown[data-dimension="${dim}"] li`)).map((li) => [li.dataset.value, Number(li.dataset.clicks)]), d);
    expect(await breakdown("source")).toEqual([["link", base + n], ["qr", 1]]);
    expect(await breakdown("referrer")).toEqual([["news.example", n], ["direct", base + 1]]);
    expect((await breakdown("browser")).reduce((s, [, c]) => s + (c as number), 0)).toBe(base + n + 1);
    await shot("5-stats");
    await page.waitForFunction(() => document.querySelector("body")!.dataset.live === "on");
    const before = await page.locator("#s-live li").count();
    const clicked = performance.now();
    await hop(code);
    await page.waitForFunction((b) => document.querySelectorAll("#s-live li").length > b, before, { timeout: 1000 });
    console.log(`live click shown ${(performance.now() - clicked).toFixed(0)} ms after the redirect`);
    await waitForFigures(String(base + n + 2));
    await page.click("#stats-dialog [data-close]");
  });

  test("delete asks first; confirmed, the link is gone and its short URL answers 404", async () => {
    await page.click(`${row(code)} [data-action=delete]`);
    await page.waitForSelector("#confirm-dialog[open]");
    expect(await page.textContent("#confirm-text")).toContain(shortUrl);
    await page.click("#confirm-dialog button[value=cancel]");
    expect((await hop(code)).status).toBe(302);
    await page.click(`${row(code)} [data-action=delete]`);
    await page.click("#confirm-delete");
    await page.waitForSelector(row(code), { state: "detached" });
    expect((await hop(code)).status).toBe(404);
  });

  test("keyboard and phone: every control has a label, and the page fits a phone's width", async () => {
    const unlabelled = await page.evaluate(() =>
      Array.from((document as any).querySelectorAll("input, select, button"))
        .filter((n: any) => !(n.labels?.length > 0 || n.getAttribute("aria-label") || (n.textContent ?? "").trim() !== ""))
        .map((n: any) => n.id || n.outerHTML.slice(0, 60)),
    );
    expect(unlabelled).toEqual([]);
    await page.setViewportSize({ width: 390, height: 844 });
    await page.focus("#search");
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => (document as any).activeElement.id)).toBe("tag-filter");
    expect(await page.evaluate(() => (document as any).scrollingElement.scrollWidth <= (globalThis as any).innerWidth)).toBe(true);
    await shot("6-phone");
    await page.setViewportSize({ width: 1100, height: 900 });
  });

  test("a revoked key locks the page, saying why", async () => {
    await revokeKeyNow(config, key.id);
    await page.waitForSelector("#sign-in:not([hidden])", { timeout: 15_000 });
    expect(await page.textContent("#sign-in-error")).not.toBe("");
    expect(await page.evaluate(() => sessionStorage.getItem("shorten.apiKey"))).toBeNull();
    expect(await page.locator("#link-list li").count()).toBe(0);
    // The refusals this suite provoked (a wrong key, bad input, the revoked key) are logged by the browser as failed loads; nothing else.
    expect(problems.errors().filter((e) => !/status of (400|401) /.test(e))).toEqual([]);
  });
});

async function waitForFigures(total: string): Promise<void> {
  // Clicks reach the stats at the next flush (CLICK_FLUSH_MS); the panel asks again on each live click and on a range change.
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; ) {
    if ((await page.getAttribute("#s-total", "data-value")) === total) return;
    await page.selectOption("#granularity", (await page.inputValue("#granularity")) === "day" ? "hour" : "day");
    await Bun.sleep(300);
  }
  expect(await page.getAttribute("#s-total", "data-value")).toBe(total);
}

/** The SVG as pixels, drawn by the browser on a canvas (jsQR reads pixels). */
async function rasterise(svg: string): Promise<{ data: Uint8ClampedArray; width: number; height: number }> {
  const other = await browser.newPage();
  try {
    const out = await other.evaluate(async (text) => {
      const g = globalThis as any;
      const img = new g.Image();
      img.src = `data:image/svg+xml;base64,${g.btoa(text)}`;
      await img.decode();
      const canvas = g.document.createElement("canvas");
      canvas.width = 600;
      canvas.height = 600;
      const ctx = canvas.getContext("2d");
      ctx.fillStyle = "#fff";
      ctx.fillRect(0, 0, 600, 600);
      ctx.drawImage(img, 0, 0, 600, 600);
      return Array.from(ctx.getImageData(0, 0, 600, 600).data as Uint8ClampedArray);
    }, svg);
    return { data: new Uint8ClampedArray(out), width: 600, height: 600 };
  } finally {
    await other.close();
  }
}
