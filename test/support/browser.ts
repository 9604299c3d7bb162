import { chromium, type Browser, type Page } from "playwright-core";

/** Debian's chromium: the machine has no Playwright browser download and no internet. */
export const CHROMIUM_PATH = "/usr/bin/chromium";

/**
 * Headless, no sandbox (tests may run as root), and nothing that phones home: the browser must
 * not touch the network beyond the server under test.
 */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-quic",
  "--no-first-run",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * Launches a headless Chromium with a fresh profile. `chromium.launch` gives every launch its own
 * temporary user-data-dir (Playwright creates it and deletes it on close, and refuses a
 * `--user-data-dir` argument), so no state leaks between runs.
 *
 * @example
 *   const browser = await launchBrowser();
 *   const page = await browser.newPage();
 *   const problems = watchPage(page);
 *   await page.goto(url);
 *   expect(problems.errors()).toEqual([]);
 *   await browser.close();
 */
export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS, timeout: 30_000 });
}

export interface PageProblems {
  /** Console errors and uncaught page errors, in order, as `console: …` / `pageerror: …`. */
  errors(): string[];
  /** Marks a point in time; `errorsSince(mark)` returns only what came after it. */
  mark(): number;
  errorsSince(mark: number): string[];
}

/** Collects everything a page reports as an error, so a test can assert there was none. */
export function watchPage(page: Page): PageProblems {
  const seen: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") seen.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (error) => seen.push(`pageerror: ${error.message}`));
  return {
    errors: () => [...seen],
    mark: () => seen.length,
    errorsSince: (mark) => seen.slice(mark),
  };
}
