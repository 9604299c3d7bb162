import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { csvRecords, ndjsonRecords, MAX_RECORD_BYTES, type ImportEvent } from "../../src/modules/links/import-records";

const enc = (text: string) => new TextEncoder().encode(text);
const bytes = (...parts: Array<string | number[]>) => Buffer.concat(parts.map((p) => (typeof p === "string" ? enc(p) : Uint8Array.from(p))));

/** The body as chunks cut at the given sizes (the rest in one chunk): a network's arbitrary splits. */
async function* chunked(body: Uint8Array, sizes: number[] = []): AsyncGenerator<Uint8Array> {
  let at = 0;
  for (const size of sizes) {
    if (at >= body.byteLength) return;
    yield body.slice(at, at + size);
    at += size;
  }
  if (at < body.byteLength) yield body.slice(at);
}

async function events(reader: typeof csvRecords, body: Uint8Array, sizes?: number[], maxBytes = 1 << 20): Promise<ImportEvent[]> {
  const out: ImportEvent[] = [];
  for await (const event of reader(chunked(body, sizes), maxBytes)) out.push(event);
  return out;
}

const brief = (e: ImportEvent) => ("item" in e ? [e.line, e.item] : "error" in e ? [e.line, e.error.code, e.error.message] : [e.line, "stop", e.stop.code]);

describe("CSV records (RFC 4180)", () => {
  test("a quoted field keeps its commas, doubled quotes and CRLF; lines are where records start", async () => {
    const csv = 'url,alias,note\r\n"https://a.example/x,y",,"two\r\nlines"\r\n\r\n"https://b.example/q""q",bee,\r\n';
    expect((await events(csvRecords, enc(csv), [3, 1, 5, 2])).map(brief)).toEqual([
      [2, { url: "https://a.example/x,y" }],
      [5, { url: 'https://b.example/q"q', alias: "bee" }],
    ]);
  });

  test("a BOM split over chunks is dropped; a CRLF split over chunks is one line end", async () => {
    const body = bytes([0xef, 0xbb, 0xbf], "url\r\nhttps://a.example/\r\nhttps://b.example/");
    for (const sizes of [[1, 1, 1], [2, 5], [8, 1]]) {
      expect((await events(csvRecords, body, sizes)).map(brief)).toEqual([
        [2, { url: "https://a.example/" }],
        [3, { url: "https://b.example/" }],
      ]);
    }
  });

  test("invalid UTF-8 spoils its record only; a character split over chunks is whole", async () => {
    const body = bytes("url\nhttps://a.example/", [0xff], "\nhttps://b.example/\u00fc\n");
    expect((await events(csvRecords, body, [19, 1, 1, 22, 1])).map(brief)).toEqual([
      [2, "invalid-body", "record is not valid UTF-8"],
      [3, { url: "https://b.example/\u00fc" }],
    ]);
  });

  test("export columns: long_url, alias flags with a short_code column, numbers, empty cells absent", async () => {
    const csv = "short_code,long_url,alias,expires_at,max_visits,visits\nmy-alias,https://a.example/,true,2099-01-01T00:00:00.000Z,5,0\nAbC1234567,https://b.example/,false,,,\n";
    expect((await events(csvRecords, enc(csv))).map(brief)).toEqual([
      [2, { short_code: "my-alias", long_url: "https://a.example/", alias: true, expires_at: "2099-01-01T00:00:00.000Z", max_visits: 5 }],
      [3, { short_code: "AbC1234567", long_url: "https://b.example/", alias: false }],
    ]);
    // Without a short_code column "true" is just an alias.
    expect((await events(csvRecords, enc("url,alias\nhttps://a.example/,true\n"))).map(brief)).toEqual([[2, { url: "https://a.example/", alias: "true" }]]);
  });

  test("a syntax error stops at the record's line; a header without url stops at once", async () => {
    expect((await events(csvRecords, enc('url\nhttps://a.example/\n"https://b.example/"x\nhttps://c.example/\n'))).map(brief)).toEqual([
      [2, { url: "https://a.example/" }],
      [3, "stop", "invalid-body"],
    ]);
    expect((await events(csvRecords, enc('url\nhttps://a.example/\n"never closed\nhttps://c.example/\n'))).map(brief)).toEqual([
      [2, { url: "https://a.example/" }],
      [3, "stop", "invalid-body"],
    ]);
    expect((await events(csvRecords, enc("name,alias\nx,y\n"))).map(brief)).toEqual([[1, "stop", "invalid-body"]]);
  });

  test("an oversize record stops the import instead of filling memory", async () => {
    const out = await events(csvRecords, enc(`url\n"https://a.example/${"a".repeat(MAX_RECORD_BYTES)}"\nhttps://b.example/\n`), [4096, 4096, 4096, 4096, 4096]);
    expect(out.map(brief)).toEqual([[2, "stop", "invalid-body"]]);
  });

  test.each([
    ["mid-record", "url\nhttps://a.example/\nhttps://b.exa", 3],
    ["mid-quote", 'url\nhttps://a.example/\n"https://b.exa', 3],
    ["at a line end", "url\nhttps://a.example/\n", 3],
    ["between CR and LF", "url\r\nhttps://a.example/\r\nhttps://b.example/\r", 3],
  ])("the byte limit cut %s: records that ended within it, then 413 at the first line not used", async (_what, head, line) => {
    const body = enc(`${head}MORE-THAN-THE-LIMIT\n`);
    const out = await events(csvRecords, body, [3, 7], enc(head).byteLength);
    expect(out.map(brief)).toEqual([[2, { url: "https://a.example/" }], [line, "stop", "payload-too-large"]]);
  });
});

describe("NDJSON records", () => {
  test("each line decoded on its own: bad UTF-8, bad JSON, non-objects, oversize lines are per line", async () => {
    const body = bytes('{"url":"https://a.example/"}\r\n{"url":"https://b.example/', [0xc3], '"}\n{nope\n[1]\n\n', `{"url":"${"a".repeat(MAX_RECORD_BYTES)}"}\n`, '{"url":"https://c.example/\u00e9"}');
    expect((await events(ndjsonRecords, body, [5, 30, 1, 1, 3000])).map(brief)).toEqual([
      [1, { url: "https://a.example/" }],
      [2, "invalid-json", "line is not valid UTF-8"],
      [3, "invalid-json", "line is not valid JSON"],
      [4, "invalid-body", "each line must be a JSON object"],
      [6, "invalid-body", `line is longer than ${MAX_RECORD_BYTES} bytes`],
      [7, { url: "https://c.example/\u00e9" }],
    ]);
  });

  test("the byte limit: lines that ended within it, then 413 at the cut line", async () => {
    const head = '{"url":"https://a.example/"}\n{"url":"https://b.exa';
    const out = await events(ndjsonRecords, enc(`${head}mple/"}\n`), [10], enc(head).byteLength);
    expect(out.map(brief)).toEqual([[1, { url: "https://a.example/" }], [2, "stop", "payload-too-large"]]);
  });
});

// The class: CSV that a conforming writer produced is read back exactly, however it is chunked.
const fieldText = fc.string({ unit: fc.constantFrom("a", "Z", "0", ",", '"', "\r\n", "\n", "\r", " ", "\u00e9", "\u20ac", "\u{1f600}", "/", "?"), maxLength: 12 });
const csvFile = fc.record({
  rows: fc.array(fc.record({ url: fieldText, note: fieldText, quoteAll: fc.boolean() }), { maxLength: 12 }),
  bom: fc.boolean(),
  crlf: fc.boolean(),
  finalBreak: fc.boolean(),
  blankLines: fc.array(fc.nat(12), { maxLength: 3 }),
  sizes: fc.array(fc.integer({ min: 1, max: 9 }), { maxLength: 40 }),
});

function field(text: string, quote: boolean): string {
  return quote || /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

describe("CSV property", () => {
  test("every serialised row comes back once, byte-exact, at the line it starts on", async () => {
    await fc.assert(
      fc.asyncProperty(csvFile, async (file) => {
        const eol = file.crlf ? "\r\n" : "\n";
        const records: string[] = ["url,note"];
        const expected: Array<[number, Record<string, unknown>]> = [];
        let line = 2;
        file.rows.forEach((row, i) => {
          for (const _ of file.blankLines.filter((b) => b === i)) {
            records.push("");
            line++;
          }
          const url = `https://x.example/${i}/${row.url}`;
          records.push(`${field(url, row.quoteAll)},${field(row.note, row.quoteAll)}`);
          expected.push([line, { url }]);
          line += 1 + (`${url}${row.note}`.match(/\n/g)?.length ?? 0);
        });
        const text = records.join(eol) + (file.finalBreak ? eol : "");
        const body = bytes(file.bom ? [0xef, 0xbb, 0xbf] : [], text);
        const got = await events(csvRecords, body, file.sizes);
        expect(got.map(brief)).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });
});
