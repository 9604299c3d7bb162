import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser, Page } from "playwright-core";
import type { Config } from "../../src/config";
import { launchBrowser, watchPage, type PageProblems } from "../support/browser";
import { makeKey, revokeKeyNow } from "../support/keys";
import { startServer, type ServerProcess } from "../../harness/server-process";
import { clusterConfig, uniqueUrl } from "../../harness/system";

/**
 * The dashboard of a server in the default (closed) mode, in a real Chromium: it asks for an
 * admin key and says how to make one, refuses wrong and ordinary keys, works with an admin key,
 * keeps it for the browser session (not beyond), and asks again when the key is revoked.
 */
interface DomElement {
  dataset: Record<string, string | undefined>;
  hidden: boolean;
}
declare const document: { getElementById(id: string): DomElement | null };

let server: ServerProcess;
let browser: Browser;
let config: Config;
let admin: { id: string; text: string };
let ordinary: { id: string; text: string };

beforeAll(async () => {
  config = clusterConfig();
  [admin, ordinary] = await Promise.all([makeKey(config, "dash-admin", "admin"), makeKey(config, "dash-user")]);
  browser = await launchBrowser();
  server = await startServer({ OBSERVABILITY_PUBLIC: "false", RATE_LIMIT_ENABLED: "false", KEYS_POLL_MS: "500", INSTANCE_ID: "45" });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

const state = (page: Page) => page.evaluate(() => ({ status: document.getElementById("connection-status")!.dataset.state ?? "", keyCardHidden: document.getElementById("key-card")!.hidden, at: document.getElementById("metrics-at")!.dataset.at ?? "" }));

async function useKey(page: Page, key: string): Promise<void> {
  await page.fill("#key-input", key);
  await page.click("#key-submit");
}

describe("dashboard with access control", () => {
  let page: Page;
  let problems: PageProblems;

  test("without a key it asks for one and says how to make it; it shows no data", async () => {
    page = await browser.newPage();
    problems = watchPage(page);
    await page.goto(`${server.url}/dashboard/`);
    await page.waitForSelector("#key-card:not([hidden])", { timeout: 10_000 });
    expect(await page.textContent("#key-card")).toContain("bun run keys create --name me --admin");
    expect(await state(page)).toEqual({ status: "locked", keyCardHidden: false, at: "" });
    expect(await page.textContent("#cluster-hits")).toBe("—");
    expect(problems.errors()).toEqual([]);
  });

  test("a wrong key and an ordinary key are refused, with the reason", async () => {
    await useKey(page, "shk_AAAAAAAA_notakeynotakeynotakeynotakey");
    await page.waitForSelector("#key-message:has-text('refused the key')", { timeout: 10_000 });
    await useKey(page, ordinary.text);
    await page.waitForSelector("#key-message:has-text('ordinary')", { timeout: 10_000 });
    expect((await state(page)).status).toBe("locked");
  });

  test("an admin key opens it: live figures and the event feed", async () => {
    await useKey(page, admin.text);
    await page.waitForSelector("#connection-status[data-state='connected']", { timeout: 10_000 });
    await page.waitForSelector("#metrics-at[data-at]", { timeout: 10_000 });
    const res = await fetch(`${server.url}/create`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ url: uniqueUrl("dash") }) });
    const code = ((await res.json()) as { short_code: string }).short_code;
    await page.waitForSelector(`#event-feed tr[data-type="write"][data-code="${code}"]`, { timeout: 10_000 });
    expect((await state(page)).keyCardHidden).toBe(true);
  });

  test("the key lasts for the browser session: a reload does not ask; a new session does", async () => {
    await page.reload();
    await page.waitForSelector("#connection-status[data-state='connected']", { timeout: 10_000 });
    expect((await state(page)).keyCardHidden).toBe(true);
    const fresh = await browser.newContext();
    const other = await fresh.newPage();
    await other.goto(`${server.url}/dashboard/`);
    await other.waitForSelector("#key-card:not([hidden])", { timeout: 10_000 });
    await fresh.close();
  });

  test("revoking the key closes the dashboard's socket: it asks for a key again", async () => {
    await revokeKeyNow(config, admin.id);
    await page.waitForSelector("#key-message:has-text('API key revoked')", { timeout: 10_000 });
    expect(await state(page)).toMatchObject({ status: "locked", keyCardHidden: false });
    const mark = problems.mark();
    await page.reload();
    await page.waitForSelector("#key-card:not([hidden])", { timeout: 10_000 });
    expect(problems.errorsSince(mark)).toEqual([]);
    await page.close();
  });
});
