import { isbot } from "isbot";
import { LRUCache } from "lru-cache";
import UAParser from "ua-parser-js";

/**
 * What a user agent says about a click: device type, browser and OS family, and whether it is
 * a bot. ua-parser-js 1.x (MIT; 2.x is AGPL) parses, isbot (Unlicense, kept current with the
 * crawlers and link-preview fetchers: Slackbot, facebookexternalhit, Twitterbot, WhatsApp…)
 * decides bots. A parse costs ~15 µs, so the results of the user agents seen most are kept.
 *
 * @example
 *   const agents = new UserAgents(10_000);
 *   agents.of("Mozilla/5.0 (iPhone; …) … Mobile/15E148 Safari/604.1", false);
 *   // { device: "mobile", browser: "Safari", os: "iOS", bot: false }
 */
export interface AgentFacts {
  device: "desktop" | "mobile" | "tablet" | "other";
  browser: string;
  os: string;
  bot: boolean;
}

const BROWSERS: Record<string, string> = { "Mobile Safari": "Safari", "Chrome Headless": "Chrome", "Chrome WebView": "Chrome", "Mobile Firefox": "Firefox", "Samsung Browser": "Samsung Internet" };
const SYSTEMS: Record<string, string> = { "Mac OS": "macOS", "Chromium OS": "ChromeOS", "Chrome OS": "ChromeOS" };
const DESKTOP_SYSTEMS = new Set(["Windows", "macOS", "Linux", "Ubuntu", "Debian", "Fedora", "ChromeOS", "FreeBSD", "OpenBSD"]);
/** The longest user agent parsed; anything longer is read up to here (parsers are linear, but the cache key should not be huge). */
const MAX_AGENT = 512;

export class UserAgents {
  private readonly seen: LRUCache<string, AgentFacts>;

  constructor(maxEntries: number) {
    this.seen = new LRUCache({ max: Math.max(1, maxEntries) });
  }

  /** A missing user agent is a bot: every browser sends one. */
  of(agent: string | null, head: boolean): AgentFacts {
    const text = (agent ?? "").slice(0, MAX_AGENT);
    let facts = this.seen.get(text);
    if (!facts) {
      facts = parse(text);
      this.seen.set(text, facts);
    }
    return head && !facts.bot ? { ...facts, bot: true } : facts;
  }
}

function parse(text: string): AgentFacts {
  if (text.trim() === "") return { device: "other", browser: "other", os: "other", bot: true };
  const result = new UAParser(text).getResult();
  const os = result.os.name ? (SYSTEMS[result.os.name] ?? result.os.name) : "other";
  const browser = result.browser.name ? (BROWSERS[result.browser.name] ?? result.browser.name) : "other";
  const type = result.device.type;
  const device = type === "mobile" || type === "tablet" ? type : type === undefined && DESKTOP_SYSTEMS.has(os) ? "desktop" : "other";
  return { device, browser, os, bot: isbot(text) };
}
