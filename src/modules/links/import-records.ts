import { CsvError, parse } from "csv-parse/stream";
import { AppError, type ErrorCode } from "../../errors";
import { formatOf, type FormatName } from "./import-formats";

/**
 * The records of an import body, NDJSON or CSV, as they arrive and in line order: each is the
 * link's fields as an object (what /create would get as JSON) or the reason the record is unusable,
 * with the line it starts on. Everything is read as bytes and each record decoded as strict UTF-8
 * on its own, so an invalid byte spoils its record only and is never replaced by U+FFFD.
 *
 * The body is read up to `maxBytes`: a record is used only if it ends (line break included)
 * within them, so a cut never turns into a truncated URL. Past the limit, or at a CSV syntax error
 * (after which records can no longer be told apart), the last event is a `stop` naming the line
 * from which nothing was used.
 */
export type ImportEvent =
  | { line: number; item: Record<string, unknown>; keep?: string; format?: FormatName }
  | { line: number; error: { code: ErrorCode; message: string } }
  | { line: number; stop: AppError };

/** Longest record (NDJSON line, CSV record): far above any URL we accept, bounds the memory. */
export const MAX_RECORD_BYTES = 16 * 1024;

const LF = 0x0a;
const utf8 = new TextDecoder("utf-8", { fatal: true });

export async function* ndjsonRecords(body: AsyncIterable<Uint8Array>, maxBytes: number): AsyncGenerator<ImportEvent> {
  const budget = new ByteBudget(maxBytes);
  let line = 1;
  let parts: Uint8Array[] = [];
  let size = 0;
  const take = (part: Uint8Array) => {
    size += part.byteLength;
    if (size <= MAX_RECORD_BYTES) parts.push(part.slice());
    else parts = [];
  };
  const record = (): ImportEvent | null => {
    const bytes = Buffer.concat(parts);
    const length = size;
    parts = [];
    size = 0;
    if (length > MAX_RECORD_BYTES) return { line, error: { code: "invalid-body", message: `line is longer than ${MAX_RECORD_BYTES} bytes` } };
    const text = decode(bytes.at(-1) === 0x0d ? bytes.subarray(0, -1) : bytes);
    if (text === null) return { line, error: { code: "invalid-json", message: "line is not valid UTF-8" } };
    if (text.trim() === "") return null;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return { line, error: { code: "invalid-json", message: "line is not valid JSON" } };
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) return { line, error: { code: "invalid-body", message: "each line must be a JSON object" } };
    return { line, item: value as Record<string, unknown> };
  };
  for await (const chunk of budget.read(withoutBom(body))) {
    let from = 0;
    for (let at = chunk.indexOf(LF); at >= 0; at = chunk.indexOf(LF, from)) {
      take(chunk.subarray(from, at));
      const event = record();
      if (event) yield event;
      line++;
      from = at + 1;
    }
    take(chunk.subarray(from));
  }
  if (budget.exceeded) {
    yield { line, stop: budget.error() };
    return;
  }
  const last = record();
  if (last) yield last;
}

/** A record's fields and the byte offset just past it (its line break included). */
type CsvRecord = { record: string[]; end: number };

/**
 * RFC 4180 CSV (csv-parse) with a header row naming the columns, `url` or `long_url` among them.
 * Records end with CRLF or LF; quoted fields may hold commas, `""` and line breaks. Empty cells
 * are absent fields. With a `short_code` column, `alias` cells `true`/`false` are an export's
 * flags (the alias is then the short_code); otherwise an alias cell is the alias.
 */
export async function* csvRecords(body: AsyncIterable<Uint8Array>, maxBytes: number): AsyncGenerator<ImportEvent> {
  const budget = new ByteBudget(maxBytes);
  const lines = new LineCounter();
  // The parser's records as it closes them. A stream error throws away the records still queued
  // in it, so the stream only paces reading (one read per record) and this list is the source.
  const arrived: CsvRecord[] = [];
  // latin1 maps bytes to characters one to one, so fields come back byte-exact (every CSV
  // delimiter is ASCII, every byte of a multi-byte UTF-8 character is not) and are decoded here.
  const parser = parse({
    encoding: "latin1",
    relax_column_count: true,
    record_delimiter: ["\r\n", "\n"],
    max_record_size: MAX_RECORD_BYTES,
    on_record: (record: string[], context: { bytes: number }) => {
      arrived.push({ record, end: context.bytes });
      return record;
    },
  });
  const writer = parser.writable.getWriter();
  let fed = 0;
  let lastByte = -1;
  // The feeder runs beside the reading below; a body error reaches the reader through abort.
  void (async () => {
    for await (const chunk of budget.read(withoutBom(body))) {
      lines.feed(chunk, fed);
      fed += chunk.byteLength;
      if (chunk.byteLength > 0) lastByte = chunk[chunk.byteLength - 1]!;
      await writer.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    }
    await writer.close();
  })().catch((error: unknown) => writer.abort(error).catch(() => {}));
  const reader = parser.readable.getReader();
  let start = 0;
  let header: ReturnType<typeof formatOf> = null;
  try {
    for (;;) {
      let failure: unknown = null;
      let done = false;
      try {
        done = (await reader.read()).done;
      } catch (error) {
        if (!(error instanceof CsvError)) throw error;
        failure = error;
      }
      for (const { record, end } of failure !== null || done ? arrived.splice(0) : arrived.splice(0, 1)) {
        const line = lines.lineAt(start);
        // The record the parser closes at the end of a cut body is the cut's fragment.
        if (budget.exceeded && end === fed && lastByte !== LF) {
          yield { line, stop: budget.error() };
          return;
        }
        start = end;
        if (record.length === 1 && record[0] === "") continue;
        const fields = decodeAll(record);
        if (header === null) {
          header = fields === null ? null : formatOf(fields);
          if (header === null) {
            yield { line, stop: new AppError("invalid-body", "the CSV header must name a url (or long_url) column, or be an export of Bitly, Shlink, Kutt or YOURLS") };
            return;
          }
          continue;
        }
        yield fields === null ? { line, error: { code: "invalid-body", message: "record is not valid UTF-8" } } : { line, ...recordOf(fields, header), format: header.format.name };
      }
      const line = lines.lineAt(start);
      if (failure instanceof CsvError) {
        // An open quote at the end of a cut body is the cut, not the file.
        if (budget.exceeded && failure.code === "CSV_QUOTE_NOT_CLOSED") yield { line, stop: budget.error() };
        else yield { line, stop: new AppError("invalid-body", `CSV syntax error in the record at line ${line}: ${csvProblem(failure.code)}; nothing from that line on was imported`) };
        return;
      }
      if (done) {
        if (budget.exceeded) yield { line, stop: budget.error() };
        return;
      }
    }
  } finally {
    // The feeder is not waited for (it may be waiting on the client): its next write fails and it stops.
    await reader.cancel().catch(() => {});
  }
}

function recordOf(fields: string[], header: NonNullable<ReturnType<typeof formatOf>>): { item: Record<string, unknown>; keep?: string } {
  const cell = (column: string) => {
    const at = header.index.get(column);
    const value = at === undefined ? undefined : fields[at];
    return value === undefined || value === "" ? undefined : value;
  };
  const read = header.format.read(cell, (column) => header.index.has(column));
  return read.keep === undefined ? { item: read.item } : read;
}

function decodeAll(record: string[]): string[] | null {
  const out: string[] = [];
  for (const field of record) {
    const text = decode(Buffer.from(field, "latin1"));
    if (text === null) return null;
    out.push(text);
  }
  return out;
}

function decode(bytes: Uint8Array): string | null {
  try {
    return utf8.decode(bytes);
  } catch {
    return null;
  }
}

function csvProblem(code: string): string {
  switch (code) {
    case "CSV_QUOTE_NOT_CLOSED":
      return "a quoted field is never closed";
    case "CSV_INVALID_CLOSING_QUOTE":
      return "a closing quote is followed by something other than a comma or a line break";
    case "INVALID_OPENING_QUOTE":
      return "a quote inside an unquoted field (quote the field and double the quote)";
    case "CSV_MAX_RECORD_SIZE":
      return `the record is longer than ${MAX_RECORD_BYTES} bytes`;
    default:
      return code;
  }
}

/** Passes the body on up to `maxBytes`, cutting the chunk that crosses them, and notes the cut. */
class ByteBudget {
  exceeded = false;

  constructor(private readonly maxBytes: number) {}

  async *read(body: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    let total = 0;
    for await (const chunk of body) {
      if (total + chunk.byteLength > this.maxBytes) {
        this.exceeded = true;
        yield chunk.subarray(0, this.maxBytes - total);
        return;
      }
      total += chunk.byteLength;
      yield chunk;
    }
  }

  error(): AppError {
    return new AppError("payload-too-large", `the import is larger than ${this.maxBytes} bytes`);
  }
}

/** Drops a leading UTF-8 byte order mark, however the first chunks are split. */
async function* withoutBom(body: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const BOM = [0xef, 0xbb, 0xbf];
  let head: Uint8Array = new Uint8Array(0);
  let decided = false;
  for await (const chunk of body) {
    if (decided) {
      yield chunk;
      continue;
    }
    head = head.byteLength === 0 ? chunk : Buffer.concat([head, chunk]);
    if (head.byteLength < BOM.length && BOM.slice(0, head.byteLength).every((b, i) => head[i] === b)) continue;
    decided = true;
    yield BOM.every((b, i) => head[i] === b) ? head.subarray(BOM.length) : head;
  }
  if (!decided && head.byteLength > 0) yield head;
}

/** Line numbers of byte offsets in the body (lines end with LF), asked in increasing order. */
class LineCounter {
  private readonly breaks: number[] = [];
  private next = 0;
  private passed = 0;

  feed(chunk: Uint8Array, offset: number): void {
    for (let at = chunk.indexOf(LF); at >= 0; at = chunk.indexOf(LF, at + 1)) this.breaks.push(offset + at);
  }

  lineAt(offset: number): number {
    while (this.next < this.breaks.length && this.breaks[this.next]! < offset) {
      this.next++;
      this.passed++;
    }
    if (this.next > 4096) {
      this.breaks.splice(0, this.next);
      this.next = 0;
    }
    return this.passed + 1;
  }
}
