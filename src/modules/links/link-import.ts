import { AppError } from "../../errors";
import { mediaTypeOf, requireUtf8 } from "../../http/media-type";
import { checkAlias } from "../../domain/alias";
import type { FormatName } from "./import-formats";
import { csvRecords, ndjsonRecords, type ImportEvent } from "./import-records";
import type { CreatedLink } from "./link-service";
import type { RedirectRule } from "../../domain/redirect-rules";
import { aliasOf, futureDate, importLinkItem, parseBody } from "./schema";

const CHUNK = 200;
const MAX_ERRORS = 50;
const MAX_LISTED = 1000;

export interface ImportSummary {
  /** The CSV's format as recognised by its header (`shorten` for ours and for NDJSON). */
  format: FormatName;
  created: number;
  duplicate: number;
  invalid: number;
  failed: number;
  /** The first MAX_ERRORS problems, in line order. */
  errors: Array<{ line: number; code: string; message: string }>;
  /** Codes from another shortener kept as the link's alias (the first MAX_LISTED). */
  kept: string[];
  /** Codes from another shortener that could not be kept, and the link's code here (the first MAX_LISTED). */
  renamed: Array<{ line: number; from: string; to: string; reason: string }>;
}

/** What the route answers: the summary, with an error and the line it stopped at when it stopped early. */
export type ImportOutcome = { status: 200; body: ImportSummary } | { status: number; body: ImportSummary & { error: { code: string; message: string }; stopped_at_line: number } };

export type CreateImported = (url: string, options: { alias?: string; expiresAt?: Date | null; maxVisits?: number | null; title?: string | null; tags?: readonly string[]; forwardQuery?: boolean; rules?: readonly RedirectRule[] }) => Promise<CreatedLink>;

/**
 * POST /api/links/import: NDJSON or CSV (import-records.ts), read as a stream and created in
 * chunks, so memory is one chunk whatever the upload's size. Each record is checked exactly as
 * POST /create checks its body; a bad one is counted and reported and never stops the rest.
 * A declared length over `maxBytes` is refused before anything is created; a streamed body that
 * goes past it is 413 with the summary of what was created from the records before the limit.
 */
/** What an item's failure tells the client; the route's error mapper (which logs the unknown ones). */
export type ReportError = (error: unknown) => AppError;

/** The key's own link at `code` (to tell a re-import from a code taken by someone else), or null. */
export type FindOwn = (code: string) => Promise<{ longUrl: string } | null>;

export async function importLinks(request: Request, maxBytes: number, create: CreateImported, findOwn: FindOwn, report: ReportError): Promise<ImportOutcome> {
  const { type, charset } = mediaTypeOf(request.headers.get("content-type"));
  const csv = type === "text/csv";
  if (!csv && type !== "application/x-ndjson" && type !== "application/jsonl") throw new AppError("unsupported-media-type", "send application/x-ndjson or text/csv");
  requireUtf8(charset);
  const length = request.headers.get("content-length");
  if (length !== null && Number(length) > maxBytes) throw new AppError("payload-too-large", `the import is larger than ${maxBytes} bytes; nothing was imported`);
  if (!request.body) throw new AppError("invalid-body", "the import body is empty");
  const body = request.body as unknown as AsyncIterable<Uint8Array>;
  const summary: ImportSummary = { format: "shorten", created: 0, duplicate: 0, invalid: 0, failed: 0, errors: [], kept: [], renamed: [] };
  let chunk: Array<Exclude<ImportEvent, { stop: AppError }>> = [];
  // A chunk's creates start together (they meet in the group commit, and a key's budget is
  // reserved for them in one call) and are settled in line order, so the errors are too.
  const flush = async () => {
    const done = chunk.map((event) => settle(event, create, findOwn, report));
    for (const [i, event] of chunk.entries()) {
      const settled = await done[i]!;
      const result = settled instanceof AppError ? settled : settled.result;
      if (!(settled instanceof AppError) && settled.code !== undefined && "keep" in event && event.keep !== undefined) {
        // Aliases are case-insensitive (stored lowercase): Bitly's `3Xk9aQz` kept is `3xk9aqz` here, and both spellings redirect.
        if (settled.code === event.keep.toLowerCase()) summary.kept.length < MAX_LISTED && summary.kept.push(event.keep);
        else if (summary.renamed.length < MAX_LISTED) summary.renamed.push({ line: event.line, from: event.keep, to: settled.code, reason: settled.why ?? "" });
      }
      if (result === "created") summary.created++;
      else if (result === "duplicate") summary.duplicate++;
      else {
        if (result.status < 500) summary.invalid++;
        else summary.failed++;
        if (summary.errors.length < MAX_ERRORS) summary.errors.push({ line: event.line, code: result.code, message: result.message });
      }
    }
    chunk = [];
  };
  for await (const event of csv ? csvRecords(body, maxBytes) : ndjsonRecords(body, maxBytes)) {
    if ("stop" in event) {
      await flush();
      const { code, message } = event.stop;
      return { status: event.stop.status, body: { error: { code, message }, ...summary, stopped_at_line: event.line } };
    }
    if ("format" in event && event.format !== undefined) summary.format = event.format;
    chunk.push(event);
    if (chunk.length >= CHUNK) await flush();
  }
  await flush();
  return { status: 200, body: summary };
}

interface Settled {
  result: "created" | "duplicate";
  /** The link's code here. */
  code?: string;
  /** Why a foreign code was not kept. */
  why?: string;
}

async function settle(event: Exclude<ImportEvent, { stop: AppError }>, create: CreateImported, findOwn: FindOwn, report: ReportError): Promise<AppError | Settled> {
  try {
    if ("error" in event) return new AppError(event.error.code, event.error.message);
    if (event.keep !== undefined) return await createKeeping(event.item, event.keep, create, findOwn);
    const link = await createOne(event.item, create);
    return { result: link.created ? "created" : "duplicate", code: link.code };
  } catch (error) {
    return report(error);
  }
}

/**
 * A foreign link: its old code as the alias when it may be one and is free; the key's own link
 * there with the same URL is this record imported before (a duplicate); otherwise a new code,
 * reported as renamed with the reason.
 */
async function createKeeping(item: Record<string, unknown>, keep: string, create: CreateImported, findOwn: FindOwn): Promise<Settled> {
  const checked = checkAlias(keep);
  if (checked.ok) {
    try {
      const link = await createOne({ ...item, alias: checked.alias }, create);
      return { result: "created", code: link.code };
    } catch (error) {
      if (!(error instanceof AppError) || error.code !== "alias-taken") throw error;
    }
    const own = await findOwn(checked.alias);
    const url = parseBody(importLinkItem, item);
    if (own !== null && own.longUrl === (url.url ?? url.long_url)) return { result: "duplicate", code: checked.alias };
  }
  const link = await createOne(item, create);
  return { result: link.created ? "created" : "duplicate", code: link.code, why: checked.ok ? "taken here" : checked.reason };
}

/** The checks of POST /create, in its order: the shape, the alias, the expiry, then the URL. */
function createOne(value: Record<string, unknown>, create: CreateImported): Promise<CreatedLink> {
  const item = parseBody(importLinkItem, value);
  const wanted = item.alias === true ? item.short_code : item.alias === false ? undefined : item.alias;
  return create((item.url ?? item.long_url)!, { alias: wanted === undefined ? undefined : aliasOf(wanted), expiresAt: futureDate(item.expires_at, Date.now()), maxVisits: item.max_visits, title: item.title, tags: item.tags, forwardQuery: item.forward_query, rules: item.rules ?? undefined });
}
