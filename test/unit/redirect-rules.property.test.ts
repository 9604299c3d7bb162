/**
 * Redirect rules against a reference written plainly: for generated rule lists and requests, the
 * rule the evaluator picks is the first whose every given condition holds, read straight from the
 * stored JSON (no sets, no compiled instants). And the facts are worked out lazily, at most once.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { matchingRule, RULE_DEVICES, RULE_SYSTEMS, type RedirectRule, type RequestFacts } from "../../src/domain/redirect-rules";
import { createLinkBody, parseBody } from "../../src/modules/links/schema";

const COUNTRIES = ["DE", "US", "FR", "JP", "BR"];
const LANGUAGES = ["en", "de", "fr", "ja"];
const PARAMS = ["utm", "ref", "v"];
const VALUES = ["a", "b", "c"];
const T0 = Date.parse("2027-01-01T00:00:00Z");
const instant = fc.integer({ min: -3, max: 3 }).map((d) => new Date(T0 + d * 86_400_000).toISOString());

const when = fc
  .record(
    {
      device: fc.uniqueArray(fc.constantFrom(...RULE_DEVICES), { minLength: 1 }),
      os: fc.uniqueArray(fc.constantFrom(...RULE_SYSTEMS), { minLength: 1 }),
      country: fc.uniqueArray(fc.constantFrom(...COUNTRIES), { minLength: 1 }),
      language: fc.uniqueArray(fc.constantFrom(...LANGUAGES), { minLength: 1 }),
      query: fc.dictionary(fc.constantFrom(...PARAMS), fc.constantFrom(...VALUES), { minKeys: 1, maxKeys: 2 }),
      after: instant,
      before: instant,
    },
    { requiredKeys: [] },
  )
  .filter((w) => Object.keys(w).length > 0);
const rules = fc.array(fc.record({ when, url: fc.webUrl() }), { maxLength: 20 });

interface Request {
  device: string;
  os: string;
  country: string | null;
  language: string | null;
  query: Array<[string, string]>;
  now: number;
}
const request = fc.record({
  device: fc.constantFrom(...RULE_DEVICES, "other"),
  os: fc.constantFrom(...RULE_SYSTEMS, "other"),
  country: fc.option(fc.constantFrom(...COUNTRIES, "NZ")),
  language: fc.option(fc.constantFrom(...LANGUAGES, "es")),
  query: fc.array(fc.tuple(fc.constantFrom(...PARAMS), fc.constantFrom(...VALUES)), { maxLength: 4 }),
  now: fc.integer({ min: T0 - 4 * 86_400_000, max: T0 + 4 * 86_400_000 }),
});

const factsOf = (r: Request): RequestFacts => ({
  device: () => r.device,
  os: () => r.os,
  country: () => r.country,
  language: () => r.language,
  queryValues: (name) => r.query.filter(([n]) => n === name).map(([, v]) => v),
  now: () => r.now,
});

/** The reference: each rule's conditions checked one by one, as the API documents them. */
function reference(list: RedirectRule[], r: Request): number | null {
  for (let i = 0; i < list.length; i++) {
    const w = list[i]!.when;
    let ok = true;
    if (w.device && !w.device.includes(r.device as never)) ok = false;
    if (w.os && !w.os.includes(r.os as never)) ok = false;
    if (w.country && (r.country === null || !w.country.includes(r.country))) ok = false;
    if (w.language && (r.language === null || !w.language.includes(r.language))) ok = false;
    if (w.query) for (const [name, value] of Object.entries(w.query)) if (!r.query.some(([n, v]) => n === name && v === value)) ok = false;
    if (w.after && r.now < new Date(w.after).getTime()) ok = false;
    if (w.before && r.now >= new Date(w.before).getTime()) ok = false;
    if (ok) return i;
  }
  return null;
}

describe("redirect rules", () => {
  test("the chosen rule is the reference's: the first whose conditions all hold, else none", () => {
    fc.assert(
      fc.property(rules, fc.array(request, { minLength: 1, maxLength: 5 }), (list, requests) => {
        // The same list serves several requests (compiled once, as a cached link's is).
        for (const r of requests) expect(matchingRule(list, factsOf(r))).toBe(reference(list, r));
      }),
      { numRuns: 2000 },
    );
  });

  test("what the API accepts is what the evaluator reads: a generated list survives the create schema unchanged", () => {
    fc.assert(
      fc.property(rules.filter((l) => l.every((r) => !(r.when.after && r.when.before && r.when.after >= r.when.before))), (list) => {
        const body = parseBody(createLinkBody, { url: "https://example.com/", rules: list });
        expect(body.rules).toEqual(list);
      }),
      { numRuns: 300 },
    );
  });

  test("a fact is asked for only when a rule's condition needs it", () => {
    const asked: string[] = [];
    const spy = (name: string, value: string | null) => () => (asked.push(name), value);
    const facts = { device: spy("device", "mobile") as () => string, os: spy("os", "ios") as () => string, country: spy("country", "DE"), language: spy("language", "de"), queryValues: () => [], now: () => T0 };
    const list: RedirectRule[] = [
      { when: { device: ["desktop"] }, url: "https://a.example/" },
      { when: { device: ["tablet"], language: ["fr"] }, url: "https://b.example/" },
      { when: { device: ["mobile"], os: ["ios"] }, url: "https://c.example/" },
    ];
    expect(matchingRule(list, facts)).toBe(2);
    expect(asked).toEqual(["device", "device", "device", "os"]);
  });
});
