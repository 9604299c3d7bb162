import { z } from "zod";
import { checkAlias } from "../../domain/alias";
import { AppError } from "../../errors";
import { MAX_RULES, RULE_DEVICES, RULE_SYSTEMS } from "../../domain/redirect-rules";

/**
 * The links API's request shapes, one zod schema each: they validate requests and, through
 * z.toJSONSchema, are the OpenAPI spec's schemas (each route's routeDoc), so the two cannot drift.
 */
const instant = (name: string) => z.iso.datetime({ offset: true, error: `${name} must be an ISO 8601 date-time, e.g. 2027-01-31T12:00:00Z` });
const expiresAt = instant("expires_at");
const maxVisits = z.number({ error: "max_visits must be a number" }).int("max_visits must be an integer").min(1, "max_visits must be >= 1").max(1_000_000_000_000, "max_visits must be <= 10^12");

/** A tag as stored: lowercase letters, digits and hyphens (uppercase is accepted and lowered). */
export const TAG_PATTERN = /^[a-z0-9-]{1,32}$/;
export const MAX_TAGS = 10;
export const MAX_TITLE = 200;

const title = z
  .string({ error: "title must be a string" })
  .max(MAX_TITLE, `title must be at most ${MAX_TITLE} characters`)
  .refine((t) => !/[\u0000-\u001f\u007f]/.test(t), "title must not contain control characters")
  .transform((t) => t.trim() || null);
const tag = z
  .string({ error: "each tag must be a string" })
  .transform((t) => t.toLowerCase())
  .refine((t) => TAG_PATTERN.test(t), "each tag must be 1-32 of a-z 0-9 -");
const tags = z
  .array(tag, { error: "tags must be an array of strings" })
  .max(MAX_TAGS, `at most ${MAX_TAGS} tags`)
  .transform((t) => [...new Set(t)]);

const forwardQuery = z.boolean({ error: "forward_query must be true or false" });

/** Text PostgreSQL's jsonb takes as it is: no NUL or other control characters, no unpaired surrogate. */
const storable = (text: string) => !/[\u0000-\u001f\u007f]/.test(text) && text.isWellFormed();

/** One value or a list of them, stored as a list without repeats. */
function oneOrMany<T extends z.ZodType<string>>(item: T, name: string, max: number, values: string) {
  const error = `${name} must be ${values}, or a list of them`;
  return z
    .union([item, z.array(item, { error }).min(1, `${name} must not be an empty list`).max(max, `${name} holds at most ${max} values`)], { error })
    .transform((v) => [...new Set(Array.isArray(v) ? v : [v])] as Array<z.output<T>>);
}


const ruleConditions = z
  .strictObject(
    {
      device: oneOrMany(z.enum(RULE_DEVICES, { error: `device must be one of ${RULE_DEVICES.join(", ")}` }), "device", RULE_DEVICES.length, `one of ${RULE_DEVICES.join(", ")}`).optional(),
      os: oneOrMany(z.enum(RULE_SYSTEMS, { error: `os must be one of ${RULE_SYSTEMS.join(", ")}` }), "os", RULE_SYSTEMS.length, `one of ${RULE_SYSTEMS.join(", ")}`).optional(),
      country: oneOrMany(
        z
          .string({ error: "country must be ISO 3166-1 alpha-2 codes" })
          .regex(/^[A-Za-z]{2}$/, "country must be ISO 3166-1 alpha-2 codes, e.g. DE")
          .transform((c) => c.toUpperCase()),
        "country",
        250,
        "an ISO 3166-1 alpha-2 code such as DE",
      ).optional(),
      language: oneOrMany(
        z
          .string({ error: "language must be primary language tags" })
          .regex(/^[A-Za-z]{2,3}$/, "language must be primary language tags, e.g. en")
          .transform((l) => l.toLowerCase()),
        "language",
        50,
        "a primary language tag such as en",
      ).optional(),
      query: z
        .record(
          z.string().min(1, "a query parameter name must not be empty").max(100, "a query parameter name is at most 100 characters").refine(storable, "a query parameter name must not contain control characters"),
          z.string({ error: "each query value must be a string" }).max(200, "a query value is at most 200 characters").refine(storable, "a query value must not contain control characters"),
          { error: (issue) => (issue.code === "invalid_key" ? "a query parameter name must be 1-100 characters with no control characters" : "query must be an object of parameter names and values") },
        )
        .refine((q) => Object.keys(q).length >= 1 && Object.keys(q).length <= 10, "query must name 1-10 parameters")
        .optional(),
      after: instant("after").optional(),
      before: instant("before").optional(),
    },
    { error: (issue) => (issue.code === "unrecognized_keys" ? `unknown condition ${issue.keys.join(", ")}; use device, os, country, language, query, after, before` : "when must be an object of conditions") },
  )
  .refine((w) => Object.keys(w).length > 0, "when must hold at least one condition")
  .refine((w) => w.after === undefined || w.before === undefined || Date.parse(w.after) < Date.parse(w.before), "after must be before before");

const rule = z.object(
  {
    when: ruleConditions,
    url: z.string({ error: "each rule needs a url string" }),
  },
  { error: "each rule must be an object {when, url}" },
);

/** Redirect rules: checked in order, the first whose conditions all hold sends the click to its url. */
const rules = z.array(rule, { error: "rules must be an array" }).max(MAX_RULES, `at most ${MAX_RULES} rules`);

export const linkOptions = {
  alias: z.string({ error: "alias must be a string" }).optional().meta({ description: "1-64 of A-Z a-z 0-9 _ -, case-insensitive; needs an API key" }),
  expires_at: expiresAt.optional().meta({ description: "after this instant the link answers 410" }),
  max_visits: maxVisits.optional().meta({ description: "after this many redirects the link answers 410" }),
  title: title.optional().meta({ description: `up to ${MAX_TITLE} characters; blank is none` }),
  tags: tags.optional().meta({ description: `up to ${MAX_TAGS} tags, each 1-32 of a-z 0-9 - (stored lowercase)` }),
  forward_query: forwardQuery.optional().meta({ description: "carry the short URL's query string over to the target (default true; the target's own parameters win)" }),
  rules: rules.optional().meta({ description: `up to ${MAX_RULES} redirect rules {when, url}, tried in order; the first whose conditions all hold is used, else url; needs an API key` }),
};

const urlFields = {
  url: z.string({ error: "url must be a string" }).optional(),
  long_url: z.string({ error: "long_url must be a string" }).optional(),
};

/** Exactly one URL, under either name (or both, equal). */
function oneUrl<T extends { url?: string; long_url?: string }>(schema: z.ZodType<T>) {
  return schema
    .refine((b) => b.url !== undefined || b.long_url !== undefined, { message: "body needs a url (or long_url) field" })
    .refine((b) => b.url === undefined || b.long_url === undefined || b.url === b.long_url, { message: "url and long_url differ; send one" });
}

export const MAX_PASSWORD = 128;

const password = z
  .string({ error: "password must be a string" })
  .min(1, "password must not be empty")
  .max(MAX_PASSWORD, `password must be at most ${MAX_PASSWORD} characters`);

/** POST /{code}: a protected link's password, as a form field or JSON. */
export const unlockBody = z.object({ password });

/** POST /create body: `{"url": "..."}`, with `long_url` accepted as an alias. Extra keys are ignored. */
export const createLinkBody = oneUrl(z.object({ ...urlFields, ...linkOptions, password: password.optional().meta({ description: "asked before the redirect; stored as an argon2id hash only; needs an API key" }) }));

/**
 * One link of POST /api/links/import: a /create body, or an export line as it is (`long_url`,
 * `alias: true` with its `short_code`, `null` for no limit). Other export fields (visits, dates)
 * are ignored: an imported link starts afresh.
 */
export const importLinkItem = oneUrl(
  z.object({
    ...urlFields,
    alias: z.union([z.string(), z.boolean()], { error: "alias must be a string (or a boolean with short_code)" }).optional(),
    short_code: z.string({ error: "short_code must be a string" }).optional(),
    expires_at: expiresAt.nullable().optional(),
    max_visits: maxVisits.nullable().optional(),
    title: title.nullable().optional(),
    tags: tags.optional(),
    forward_query: forwardQuery.optional(),
    rules: rules.nullable().optional(),
  }),
).refine((b) => b.alias !== true || b.short_code !== undefined, { message: "alias true needs the short_code that is the alias" });

export const patchLinkBody = z
  .object({
    url: z.string({ error: "url must be a string" }).optional(),
    expires_at: expiresAt.nullable().optional().meta({ description: "null removes the expiry" }),
    max_visits: maxVisits.nullable().optional().meta({ description: "null removes the visit budget" }),
    title: title.nullable().optional().meta({ description: "null or blank removes the title" }),
    tags: tags.optional().meta({ description: "replaces the tags; [] removes them" }),
    forward_query: forwardQuery.optional(),
    password: password.nullable().optional().meta({ description: "a new password; null removes it" }),
    rules: rules.nullable().optional().meta({ description: "replaces the rules; null or [] removes them" }),
  })
  .refine((b) => b.url !== undefined || b.expires_at !== undefined || b.max_visits !== undefined || b.title !== undefined || b.tags !== undefined || b.forward_query !== undefined || b.password !== undefined || b.rules !== undefined, {
    message: "send at least one of url, expires_at, max_visits, title, tags, forward_query, password, rules",
  });

/** A bulk body's limit: 1,000 links of a long URL each, whatever MAX_BODY_BYTES is. */
export const BULK_BODY_BYTES = 4 * 1024 * 1024;

export const bulkBody = z.object({
  links: z
    .array(z.object({ url: z.string({ error: "url must be a string" }), ...linkOptions }), { error: "links must be an array" })
    .min(1, "links must hold at least one item")
    .max(1000, "links holds at most 1000 items"),
});

export const listQuery = z.object({
  limit: z.coerce.number({ error: "limit must be a number" }).int("limit must be an integer").min(1, "limit must be >= 1").max(100, "limit must be <= 100").default(50),
  cursor: z.string({ error: "cursor must be given once" }).max(512, "cursor is too long").optional(),
  q: z
    .string({ error: "q must be given once" })
    .max(200, "q must be at most 200 characters")
    .transform((q) => q.trim())
    .optional()
    .meta({ description: "a case-insensitive substring of the code (or alias), title or long URL" }),
  tag: tag.optional().meta({ description: "only links with this tag" }),
});

export type CreateLinkBody = z.infer<typeof createLinkBody>;
export type PatchLinkBody = z.infer<typeof patchLinkBody>;

/** A JSON object checked against `schema`; the first problem becomes a 400 naming it. */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new AppError("invalid-body", "body must be a JSON object");
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new AppError("invalid-body", messageOf(parsed.error.issues[0]!));
  return parsed.data;
}

/** A problem inside a redirect rule names the rule: `rules[2].when: …` (a list of up to 20 needs saying which). */
function messageOf(issue: z.core.$ZodIssue): string {
  const path = issue.path;
  if (path.length < 3 || !path.includes("rules")) return issue.message;
  const at = path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join("");
  return `${at}: ${issue.message}`;
}

export function parseQuery<T>(schema: z.ZodType<T>, query: unknown): T {
  const parsed = schema.safeParse(query);
  if (!parsed.success) throw new AppError("invalid-query", parsed.error.issues[0]!.message);
  return parsed.data;
}

/** Expiry must be ahead: a link created or edited to be already expired is a mistake worth a 400. */
export function futureDate(iso: string | null | undefined, now: number): Date | null | undefined {
  if (iso === undefined || iso === null) return iso;
  const date = new Date(iso);
  if (date.getTime() <= now) throw new AppError("invalid-body", "expires_at must be in the future");
  return date;
}

/** The stored form of a requested alias (create, bulk, import): a malformed or reserved one is a 400 naming why. */
export function aliasOf(requested: string): string {
  const checked = checkAlias(requested);
  if (!checked.ok) throw new AppError("invalid-body", checked.reason);
  return checked.alias;
}
