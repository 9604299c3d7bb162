import { z } from "zod";
import { RULE_DEVICES, RULE_SYSTEMS } from "../../domain/redirect-rules";
import type { StoredLink } from "../../storage/owned-link-rows";

/**
 * What the links API answers, one zod schema per shape: the routes build their JSON through the
 * functions here (typed by the schemas) and publish the schemas in the OpenAPI document, so the
 * two cannot drift.
 */

/** The short URL of a code: the one place it is spelled. */
export function shortUrl(publicBaseUrl: string, code: string): string {
  return `${publicBaseUrl}/${code}`;
}

export const createdView = z.object({
  short_code: z.string(),
  short_url: z.string(),
  long_url: z.string(),
  created: z.boolean().meta({ description: "false when the key (or anonymous) had shortened this URL already" }),
});

const ruleWhenView = z.object({
  device: z.array(z.enum(RULE_DEVICES)).optional(),
  os: z.array(z.enum(RULE_SYSTEMS)).optional(),
  country: z.array(z.string()).optional(),
  language: z.array(z.string()).optional(),
  query: z.record(z.string(), z.string()).optional(),
  after: z.string().optional(),
  before: z.string().optional(),
});

export const linkView = z.object({
  short_code: z.string(),
  short_url: z.string(),
  long_url: z.string(),
  alias: z.boolean(),
  created_at: z.string(),
  updated_at: z.string(),
  expires_at: z.string().nullable(),
  max_visits: z.number().nullable(),
  visits: z.number().nullable().meta({ description: "redirects counted against max_visits; null without a budget" }),
  clicks: z.number().optional().meta({ description: "every counted redirect (details and list)" }),
  humans: z.number().optional().meta({ description: "the clicks that were people, not bots (list only)" }),
  title: z.string().nullable(),
  tags: z.array(z.string()),
  forward_query: z.boolean(),
  rules: z.array(z.object({ when: ruleWhenView, url: z.string() })).meta({ description: "redirect rules, tried in order; [] when none" }),
  password_protected: z.boolean().meta({ description: "a password is asked before the redirect (the password itself is never shown)" }),
  disabled: z.object({ reason: z.string(), at: z.string() }).nullable().meta({ description: "set when the service's operators disabled the link: it answers 410" }),
});

export const linkPage = z.object({ links: z.array(linkView), next_cursor: z.string().nullable() });

export const tagsView = z.object({ tags: z.array(z.object({ tag: z.string(), links: z.number() })).meta({ description: "most used first" }) });

const itemError = z.object({ code: z.string(), message: z.string() });

export const bulkView = z.object({
  results: z.array(z.union([createdView.extend({ index: z.number() }), z.object({ index: z.number(), error: itemError })])),
  created: z.number(),
  failed: z.number(),
});

export const importSummaryView = z.object({
  format: z.enum(["shorten", "bitly", "shlink", "kutt", "yourls"]).meta({ description: "the CSV's format, recognised by its header" }),
  created: z.number(),
  duplicate: z.number(),
  invalid: z.number(),
  failed: z.number(),
  errors: z.array(z.object({ line: z.number(), code: z.string(), message: z.string() })).meta({ description: "the first 50 problems, in line order" }),
  kept: z.array(z.string()).meta({ description: "another shortener's codes kept as aliases (the first 1,000)" }),
  renamed: z.array(z.object({ line: z.number(), from: z.string(), to: z.string(), reason: z.string() })).meta({ description: "another shortener's codes that could not be kept, and the new code (the first 1,000)" }),
});

export const importStoppedView = importSummaryView.extend({ error: itemError, stopped_at_line: z.number() });

export function createdJson(link: { code: string; longUrl: string; created: boolean }, publicBaseUrl: string): z.infer<typeof createdView> {
  return { short_code: link.code, short_url: shortUrl(publicBaseUrl, link.code), long_url: link.longUrl, created: link.created };
}

/** The JSON a key sees of its link. */
export function linkJson(link: StoredLink & { clicks?: number; humans?: number }, publicBaseUrl: string): z.infer<typeof linkView> {
  return {
    short_code: link.code,
    short_url: shortUrl(publicBaseUrl, link.code),
    long_url: link.longUrl,
    alias: link.alias,
    created_at: link.createdAt.toISOString(),
    updated_at: link.updatedAt.toISOString(),
    expires_at: link.expiresAt?.toISOString() ?? null,
    max_visits: link.maxVisits,
    visits: link.maxVisits === null ? null : link.visits,
    ...(link.clicks === undefined ? {} : { clicks: link.clicks }),
    ...(link.humans === undefined ? {} : { humans: link.humans }),
    title: link.title,
    tags: link.tags,
    forward_query: link.forwardQuery,
    rules: link.rules ?? [],
    password_protected: link.passwordHash !== null,
    disabled: link.disabled === null ? null : { reason: link.disabled.reason, at: link.disabled.at.toISOString() },
  };
}
