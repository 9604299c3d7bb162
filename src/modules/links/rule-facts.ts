import { primaryLanguage } from "../../domain/click-dimensions";
import { matchingRule, type RedirectRule, type RequestFacts } from "../../domain/redirect-rules";
import type { AgentFacts, UserAgents } from "../analytics/user-agent";

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

interface FactSources {
  agents: UserAgents;
  country: (ip: string) => string | null;
  clientAddress: (request: Request) => string;
  now: () => number;
}

/**
 * One request's facts, each worked out when a rule first asks and then kept. One object per
 * request with its methods on the prototype: closures per fact cost the redirect path more in
 * allocation and collection than the lookups themselves.
 */
class FactsOfRequest implements RequestFacts {
  private agentFacts: AgentFacts | undefined;
  private countryCode: string | null | undefined;
  private languageTag: string | null | undefined;
  private params: URLSearchParams | null | undefined;
  private clock: number | undefined;

  constructor(
    private readonly sources: FactSources,
    private readonly request: Request,
    private readonly client: string | undefined,
  ) {}

  private agent(): AgentFacts {
    return (this.agentFacts ??= this.sources.agents.of(this.request.headers.get("user-agent"), false));
  }

  device(): string {
    return this.agent().device;
  }

  os(): string {
    return SYSTEMS[this.agent().os] ?? "other";
  }

  country(): string | null {
    if (this.countryCode === undefined) this.countryCode = this.sources.country(this.client ?? this.sources.clientAddress(this.request));
    return this.countryCode;
  }

  /** Read as analytics reads it: the primary tag of the first preference (`de` of `de-DE,de;q=0.9`). */
  language(): string | null {
    if (this.languageTag === undefined) {
      const tag = primaryLanguage(this.request.headers.get("accept-language"));
      this.languageTag = tag === "unknown" ? null : tag;
    }
    return this.languageTag;
  }

  queryValues(name: string): readonly string[] {
    if (this.params === undefined) {
      const url = this.request.url;
      const q = url.indexOf("?");
      this.params = q < 0 ? null : new URLSearchParams(url.slice(q + 1));
    }
    return this.params === null ? [] : this.params.getAll(name);
  }

  now(): number {
    return (this.clock ??= this.sources.now());
  }
}

/**
 * Picks a link's redirect rule for a request, on the redirect path with no I/O: the user agent
 * is parsed once per distinct string (the bounded cache in `agents`), the country comes from the
 * in-process database, and each fact is worked out only if a rule asks for it, once per request.
 * `client` is the address the rate limiter already worked out, when it ran (asking the socket
 * again costs more than the rules); else the same rule (trusted proxies) is applied here.
 *
 * @example
 *   const choose = ruleChooser({ agents: new UserAgents(10_000), country, clientAddress });
 *   choose(link.rules, request, client); // 0 → link.rules[0].url; null → link.longUrl
 */
export function ruleChooser(deps: { agents: UserAgents; country: (ip: string) => string | null; clientAddress: (request: Request) => string; now?: () => number }) {
  const sources: FactSources = { ...deps, now: deps.now ?? Date.now };
  return (rules: readonly RedirectRule[], request: Request, client?: string): number | null => matchingRule(rules, new FactsOfRequest(sources, request, client));
}
