import { AppError } from "../../errors";
import { mediaTypeOf, requireUtf8 } from "../../http/media-type";
import { csvRecords, ndjsonRecords, type ImportEvent } from "./import-records";
import type { CreatedLink } from "./link-service";
import { aliasOf, futureDate, importLinkItem, parseBody } from "./schema";

const CHUNK = 200;
const MAX_ERRORS = 50;

export interface ImportSummary {
  created: number;
  duplicate: number;
  invalid: number;
  failed: number;
  /** The first MAX_ERRORS problems, in line order. */
  errors: Array<{ line: number; code: string; message: string }>;
}

/** What the route answers: the summary, with an error and the line it stopped at when it stopped early. */
export type ImportOutcome = { status: 200; body: ImportSummary } | { status: number; body: ImportSummary & { error: { code: string; message: string }; stopped_at_line: number } };

export type CreateImported = (url: string, options: { alias?: string; expiresAt?: Date | null; maxVisits?: number | null }) => Promise<CreatedLink>;

/**
 * POST /api/links/import: NDJSON or CSV (import-records.ts), read as a stream and created in
 * chunks, so memory is one chunk whatever the upload's size. Each record is checked exactly as
 * POST /create checks its body; a bad one is counted and reported and never stops the rest.
 * A declared length over `maxBytes` is refused before anything is created; a streamed body that
 * goes past it is 413 with the summary of what was created from the records before the limit.
 */
/** What an item's failure tells the client; the route's error mapper (which logs the unknown ones). */
export type ReportError = (error: unknown) => AppError;

export async function importLinks(request: Request, maxBytes: number, create: CreateImported, report: ReportError): Promise<ImportOutcome> {
  const { type, charset } = mediaTypeOf(request.headers.get("content-type"));
  const csv = type === "text/csv";
  if (!csv && type !== "application/x-ndjson" && type !== "application/jsonl") throw new AppError("unsupported-media-type", "send application/x-ndjson or text/csv");
  requireUtf8(charset);
  const length = request.headers.get("content-length");
  if (length !== null && Number(length) > maxBytes) throw new AppError("payload-too-large", `the import is larger than ${maxBytes} bytes; nothing was imported`);
  if (!request.body) throw new AppError("invalid-body", "the import body is empty");
  const body = request.body as unknown as AsyncIterable<Uint8Array>;
  const summary: ImportSummary = { created: 0, duplicate: 0, invalid: 0, failed: 0, errors: [] };
  let chunk: Array<Exclude<ImportEvent, { stop: AppError }>> = [];
  // A chunk's creates start together (they meet in the group commit, and a key's budget is
  // reserved for them in one call) and are settled in line order, so the errors are too.
  const flush = async () => {
    const done = chunk.map((event) => settle(event, create, report));
    for (const [i, event] of chunk.entries()) {
      const result = await done[i]!;
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
    chunk.push(event);
    if (chunk.length >= CHUNK) await flush();
  }
  await flush();
  return { status: 200, body: summary };
}

async function settle(event: Exclude<ImportEvent, { stop: AppError }>, create: CreateImported, report: ReportError): Promise<AppError | "created" | "duplicate"> {
  try {
    if ("error" in event) return new AppError(event.error.code, event.error.message);
    const link = await createOne(event.item, create);
    return link.created ? "created" : "duplicate";
  } catch (error) {
    return report(error);
  }
}

/** The checks of POST /create, in its order: the shape, the alias, the expiry, then the URL. */
function createOne(value: Record<string, unknown>, create: CreateImported): Promise<CreatedLink> {
  const item = parseBody(importLinkItem, value);
  const wanted = item.alias === true ? item.short_code : item.alias === false ? undefined : item.alias;
  return create((item.url ?? item.long_url)!, { alias: wanted === undefined ? undefined : aliasOf(wanted), expiresAt: futureDate(item.expires_at, Date.now()), maxVisits: item.max_visits });
}
