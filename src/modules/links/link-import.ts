import { AppError } from "../../errors";
import { checkAlias } from "../../domain/alias";
import type { CreatedLink } from "./link-service";

const CHUNK = 200;
const MAX_LINE = 16 * 1024;
const MAX_ERRORS = 50;

export interface ImportSummary {
  created: number;
  duplicate: number;
  invalid: number;
  failed: number;
  errors: Array<{ line: number; code: string; message: string }>;
}

/**
 * POST /api/links/import: NDJSON (`{"url": ..., "alias"?: ...}` per line) or CSV (a header row
 * naming `url` and optionally `alias`), read as a stream and created in chunks, so memory is one
 * chunk whatever the upload's size. A bad line is counted and reported; it never stops the rest.
 */
export async function importLinks(request: Request, create: (url: string, options: { alias?: string }) => Promise<CreatedLink>): Promise<ImportSummary> {
  const type = (request.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  const csv = type === "text/csv";
  if (!csv && type !== "application/x-ndjson" && type !== "application/jsonl") throw new AppError("unsupported-media-type", "send application/x-ndjson or text/csv");
  if (!request.body) throw new AppError("invalid-body", "the import body is empty");
  const summary: ImportSummary = { created: 0, duplicate: 0, invalid: 0, failed: 0, errors: [] };
  const note = (line: number, code: string, message: string) => {
    if (summary.errors.length < MAX_ERRORS) summary.errors.push({ line, code, message });
  };
  let header: { url: number; alias: number } | null = null;
  let chunk: Array<{ line: number; url: string; alias?: string }> = [];
  const flush = async () => {
    await Promise.all(
      chunk.map(async (item) => {
        try {
          const link = await create(item.url, { alias: item.alias });
          if (link.created) summary.created++;
          else summary.duplicate++;
        } catch (error) {
          const e = error instanceof AppError ? error : new AppError("internal", "internal error");
          if (e.status < 500) summary.invalid++;
          else summary.failed++;
          note(item.line, e.code, e.message);
        }
      }),
    );
    chunk = [];
  };
  let lineNo = 0;
  for await (const line of lines(request.body)) {
    lineNo++;
    if (line.trim() === "") continue;
    if (line.length > MAX_LINE) {
      summary.invalid++;
      note(lineNo, "invalid-body", `line is longer than ${MAX_LINE} characters`);
      continue;
    }
    const parsed = csv ? parseCsvLine(line, header) : parseJsonLine(line);
    if (csv && header === null) {
      header = parsed as { url: number; alias: number } | null;
      if (header === null) throw new AppError("invalid-body", "the CSV header must name a url column");
      continue;
    }
    if ("error" in (parsed as object)) {
      summary.invalid++;
      note(lineNo, "invalid-body", (parsed as { error: string }).error);
      continue;
    }
    const item = parsed as { url: string; alias?: string };
    if (item.alias !== undefined) {
      const alias = checkAlias(item.alias);
      if (!alias.ok) {
        summary.invalid++;
        note(lineNo, "invalid-body", alias.reason);
        continue;
      }
      item.alias = alias.alias;
    }
    chunk.push({ line: lineNo, ...item });
    if (chunk.length >= CHUNK) await flush();
  }
  await flush();
  return summary;
}

function parseJsonLine(line: string): { url: string; alias?: string } | { error: string } {
  try {
    const value = JSON.parse(line) as { url?: unknown; alias?: unknown };
    if (typeof value !== "object" || value === null || typeof value.url !== "string") return { error: "each line must be a JSON object with a url string" };
    if (value.alias !== undefined && typeof value.alias !== "string") return { error: "alias must be a string" };
    return { url: value.url, alias: value.alias as string | undefined };
  } catch {
    return { error: "line is not valid JSON" };
  }
}

/** The header row maps column names; later rows give values. Quoted fields with "" escapes. */
function parseCsvLine(line: string, header: { url: number; alias: number } | null): { url: number; alias: number } | { url: string; alias?: string } | { error: string } | null {
  const fields = splitCsv(line);
  if (header === null) {
    const names = fields.map((f) => f.trim().toLowerCase());
    const url = names.indexOf("url");
    return url < 0 ? null : { url, alias: names.indexOf("alias") };
  }
  const url = fields[header.url];
  if (url === undefined || url === "") return { error: "the url column is empty" };
  const alias = header.alias >= 0 ? fields[header.alias] : undefined;
  return { url, alias: alias === "" ? undefined : alias };
}

function splitCsv(line: string): string[] {
  const out: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      out.push(field);
      field = "";
    } else field += c;
  }
  out.push(field);
  return out;
}

/** The body's lines as they arrive (\n or \r\n), decoded as UTF-8. */
async function* lines(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let rest = "";
  for await (const chunk of body) {
    rest += decoder.decode(chunk, { stream: true });
    let at: number;
    while ((at = rest.indexOf("\n")) >= 0) {
      yield rest.slice(0, at).replace(/\r$/, "");
      rest = rest.slice(at + 1);
    }
    if (rest.length > MAX_LINE * 2) {
      yield rest;
      rest = "";
    }
  }
  rest += decoder.decode();
  if (rest !== "") yield rest;
}
