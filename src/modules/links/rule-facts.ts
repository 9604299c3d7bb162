import { primaryLanguage } from "../../domain/click-dimensions";
import { matchingRule, onceEach, type RedirectRule } from "../../domain/redirect-rules";
import type { UserAgents } from "../analytics/user-agent";

/** The parser's OS families in the rules' vocabulary; Linux distributions are linux, ChromeOS is not. */
const SYSTEMS: Record<string, string> = {
  iOS: "ios",
  Android: "android",
  Windows: "windows",
  macOS: "macos",
  Linux: "linux",
  Ubuntu: "linux",
  Debian: "linux",
  Fedora: "linux",
  Mint: "linux",
  Arch: "linux",
  CentOS: "linux",
  Gentoo: "linux",
  "Red Hat": "linux",
  SUSE: "linux",
  openSUSE: "linux",
  Kubuntu: "linux",
  Manjaro: "linux",
};

/**
 * Picks a link's redirect rule for a request, on the redirect path with no I/O: the user agent
 * is parsed once per distinct string (the bounded cache in `agents`), the country comes from the
 * in-process database, and each fact is worked out only if a rule asks for it, once per request.
 * The client address is the one the rate limiter uses (trusted proxies applied).
 *
 * @example
 *   const choose = ruleChooser({ agents: new UserAgents(10_000), country, clientAddress });
 *   choose(link.rules, request); // 0 → link.rules[0].url; null → link.longUrl
 */
export function ruleChooser(deps: { agents: UserAgents; country: (ip: string) => string | null; clientAddress: (request: Request) => string; now?: () => number }) {
  const now = deps.now ?? Date.now;
  // `client`: the address the rate limiter already worked out, when it ran (asking the socket again costs more than the rules).
  return (rules: readonly RedirectRule[], request: Request, client?: string): number | null => {
    let params: URLSearchParams | null = null;
    const agent = () => deps.agents.of(request.headers.get("user-agent"), false);
    return matchingRule(
      rules,
      onceEach({
        device: () => agent().device,
        os: () => SYSTEMS[agent().os] ?? "other",
        country: () => deps.country(client ?? deps.clientAddress(request)),
        language: () => {
          const tag = primaryLanguage(request.headers.get("accept-language"));
          return tag === "unknown" ? null : tag;
        },
        queryValues: (name) => {
          if (params === null) {
            const url = request.url;
            const q = url.indexOf("?");
            if (q < 0) return [];
            params = new URLSearchParams(url.slice(q + 1));
          }
          return params.getAll(name);
        },
        now,
      }),
    );
  };
}
