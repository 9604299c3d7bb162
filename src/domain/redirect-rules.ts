/**
 * A link's redirect rules: an ordered list of `{ when, url }`; the first rule whose conditions
 * all hold sends the click to its `url`, and when none does the link's own URL is used. Pure:
 * the request's facts come in as methods asked only when a condition needs them (cheap ones
 * first), so a rule list that asks only for the query string never parses the user agent or
 * looks up a country.
 *
 * @example
 *   const rule = matchingRule(link.rules, facts);   // index of the rule, or null
 *   const target = rule === null ? link.longUrl : link.rules[rule].url;
 */
export const RULE_DEVICES = ["desktop", "mobile", "tablet"] as const;
export const RULE_SYSTEMS = ["ios", "android", "windows", "macos", "linux"] as const;
export const MAX_RULES = 20;

export type RuleDevice = (typeof RULE_DEVICES)[number];
export type RuleSystem = (typeof RULE_SYSTEMS)[number];

/** All the conditions given must hold; a list condition holds when the request's value is in it. */
export interface RuleConditions {
  device?: RuleDevice[];
  os?: RuleSystem[];
  /** ISO 3166-1 alpha-2, uppercase. */
  country?: string[];
  /** Primary language tags, lowercase. */
  language?: string[];
  /** Each parameter must be present with this value (any of its values, when repeated). */
  query?: Record<string, string>;
  /** ISO 8601 instants: the rule holds from `after` (inclusive) until `before` (exclusive). */
  after?: string;
  before?: string;
}

export interface RedirectRule {
  when: RuleConditions;
  url: string;
}

/**
 * What the request says, each asked only when a condition needs it. `device` and `os` use the
 * rules' vocabulary ("other" for anything else); `country` and `language` are null when unknown.
 */
export interface RequestFacts {
  device(): string;
  os(): string;
  country(): string | null;
  language(): string | null;
  queryValues(name: string): readonly string[];
  now(): number;
}

interface CompiledRule {
  device: ReadonlySet<string> | null;
  os: ReadonlySet<string> | null;
  country: ReadonlySet<string> | null;
  language: ReadonlySet<string> | null;
  query: ReadonlyArray<readonly [string, string]>;
  after: number | null;
  before: number | null;
}

// A cached link keeps its rules array for as long as it is cached, so each list is compiled
// once (sets, parsed instants) and every later click only reads it.
const compiled = new WeakMap<readonly RedirectRule[], CompiledRule[]>();

function compile(rules: readonly RedirectRule[]): CompiledRule[] {
  let done = compiled.get(rules);
  if (done === undefined) {
    const set = (values: readonly string[] | undefined) => (values === undefined ? null : new Set(values));
    done = rules.map(({ when }) => ({
      device: set(when.device),
      os: set(when.os),
      country: set(when.country),
      language: set(when.language),
      query: Object.entries(when.query ?? {}),
      after: when.after === undefined ? null : Date.parse(when.after),
      before: when.before === undefined ? null : Date.parse(when.before),
    }));
    compiled.set(rules, done);
  }
  return done;
}

function holds(rule: CompiledRule, facts: RequestFacts): boolean {
  if (rule.after !== null || rule.before !== null) {
    const now = facts.now();
    if (rule.after !== null && now < rule.after) return false;
    if (rule.before !== null && now >= rule.before) return false;
  }
  for (const [name, value] of rule.query) if (!facts.queryValues(name).includes(value)) return false;
  if (rule.device !== null && !rule.device.has(facts.device())) return false;
  if (rule.os !== null && !rule.os.has(facts.os())) return false;
  if (rule.language !== null && !rule.language.has(facts.language() ?? "")) return false;
  if (rule.country !== null && !rule.country.has(facts.country() ?? "")) return false;
  return true;
}

/** The index of the first rule whose conditions all hold, or null (the link's own URL). */
export function matchingRule(rules: readonly RedirectRule[], facts: RequestFacts): number | null {
  const list = compile(rules);
  for (let i = 0; i < list.length; i++) if (holds(list[i]!, facts)) return i;
  return null;
}
