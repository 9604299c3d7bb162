/**
 * Import and export against the dev cluster: an export imports back as it is (every field), the
 * import checks each record exactly as POST /create checks a body, CSV is RFC 4180 read
 * byte-exact, errors come in line order, and a body over IMPORT_MAX_BYTES is a JSON 413 that says
 * what was created.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { makeKey } from "../support/keys";
import { startSystem, uniqueUrl, type TestSystem } from "../../harness/system";

const LIMIT = 2048;
let sys: TestSystem;
let small: TestSystem;
beforeAll(async () => {
  sys = await startSystem({ RATE_LIMIT_ENABLED: "false", INSTANCE_ID: "25" });
  small = await startSystem({ RATE_LIMIT_ENABLED: "false", INSTANCE_ID: "26", IMPORT_MAX_BYTES: String(LIMIT) });
});
afterAll(async () => {
  await sys.close();
  await small.close();
});

type Key = { id: string; text: string };
const auth = (key: Key) => ({ authorization: `Bearer ${key.text}` });
const uniqueAlias = () => `t-${crypto.randomUUID().slice(0, 12)}`;
const future = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();

async function importBody(key: Key, type: string, body: RequestInit["body"], s: TestSystem = sys) {
  const res = await s.request("POST", "/api/links/import", undefined, { headers: { ...auth(key), "content-type": type }, raw: body });
  expect(res.headers.get("content-type")).toContain("application/json");
  return { status: res.status, body: (await res.json()) as any };
}

async function exported(key: Key, s: TestSystem = sys): Promise<any[]> {
  const res = await s.request("GET", "/api/links/export", undefined, { headers: auth(key) });
  expect(res.status).toBe(200);
  const text = await res.text();
  return text.trim() === "" ? [] : text.trim().split("\n").map((l) => JSON.parse(l));
}

async function deleteAll(key: Key): Promise<void> {
  for (const link of await exported(key)) expect((await sys.request("DELETE", `/api/links/${link.short_code}`, undefined, { headers: auth(key) })).status).toBe(204);
}

/** What must survive a round trip: the URL, the alias (generated codes are new), the limits. */
const essence = (links: any[]) => links.map((l) => JSON.stringify([l.long_url, l.alias ? l.short_code : null, l.expires_at, l.max_visits])).sort();

/** A body that arrives in pieces (no Content-Length), as a chunked upload does. */
function streamed(bytes: Uint8Array, size = 97): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.byteLength) return controller.close();
      controller.enqueue(bytes.slice(at, at + size));
      at += size;
    },
  });
}

function toCsv(links: any[]): string {
  const columns = ["short_code", "short_url", "long_url", "alias", "expires_at", "max_visits", "visits"];
  const cell = (v: unknown) => (v === null || v === undefined ? "" : /[",\r\n]/.test(String(v)) ? `"${String(v).replaceAll('"', '""')}"` : String(v));
  return [columns.join(","), ...links.map((l) => columns.map((c) => cell(l[c])).join(","))].join("\r\n") + "\r\n";
}

describe("export -> import round trip", () => {
  test("an export imported under another key (NDJSON as is, and as CSV) recreates every link with its fields", async () => {
    const [a, b, c] = [await makeKey(sys.config, "rt-a"), await makeKey(sys.config, "rt-b"), await makeKey(sys.config, "rt-c")];
    const made = [
      { url: uniqueUrl("rt-plain") },
      { url: uniqueUrl("rt-plain2") },
      { url: uniqueUrl("rt-alias"), alias: uniqueAlias() },
      { url: uniqueUrl("rt-expiry"), expires_at: future(30) },
      { url: uniqueUrl("rt-budget"), max_visits: 7 },
      { url: `${uniqueUrl("rt-all")}?q=a,b&x="y"`, alias: uniqueAlias(), expires_at: future(10), max_visits: 1000 },
    ];
    for (const body of made) expect((await sys.request("POST", "/create", body, { headers: auth(a) })).status).toBe(201);
    const fromA = await exported(a);
    expect(fromA).toHaveLength(made.length);
    await deleteAll(a);

    const intoB = await importBody(b, "application/x-ndjson", fromA.map((l) => JSON.stringify(l)).join("\n") + "\n");
    expect(intoB).toMatchObject({ status: 200, body: { created: made.length, duplicate: 0, invalid: 0, failed: 0, errors: [] } });
    const fromB = await exported(b);
    expect(essence(fromB)).toEqual(essence(fromA));
    await deleteAll(b);

    const intoC = await importBody(c, "text/csv", toCsv(fromB));
    expect(intoC.body).toMatchObject({ created: made.length, invalid: 0, errors: [] });
    expect(essence(await exported(c))).toEqual(essence(fromA));
    await deleteAll(c);
  });

  test("each record is checked as /create checks it: past expiry, bad budget, bad alias, alias true without its code", async () => {
    const key = await makeKey(sys.config, "rt-checks");
    const lines = [
      { long_url: uniqueUrl("ok"), expires_at: null, max_visits: null },
      { long_url: uniqueUrl("past"), expires_at: "2001-01-01T00:00:00Z" },
      { url: uniqueUrl("zero"), max_visits: 0 },
      { url: uniqueUrl("bad-alias"), alias: "no spaces allowed" },
      { long_url: uniqueUrl("flag"), alias: true },
      { url: uniqueUrl("a"), long_url: uniqueUrl("b") },
      { url: "javascript:alert(1)" },
    ];
    const res = await importBody(key, "application/x-ndjson", lines.map((l) => JSON.stringify(l)).join("\n"));
    expect(res.body).toMatchObject({ created: 1, invalid: 6, failed: 0 });
    expect(res.body.errors.map((e: any) => [e.line, e.code])).toEqual([
      [2, "invalid-body"],
      [3, "invalid-body"],
      [4, "invalid-body"],
      [5, "invalid-body"],
      [6, "invalid-body"],
      [7, "invalid-url"],
    ]);
    expect(res.body.errors[0].message).toContain("future");
    // The same bodies to /create get the same codes.
    for (const [i, line] of lines.slice(1).entries()) {
      if (line.alias === true) continue;
      const created = await sys.request("POST", "/create", line, { headers: auth(key) });
      expect(((await created.json()) as any).error.code).toBe(res.body.errors[i].code);
    }
  });
});

describe("what /create refuses, import refuses", () => {
  test("invalid UTF-8 is refused per record (never stored as U+FFFD), as /create refuses it", async () => {
    const key = await makeKey(sys.config, "utf8");
    const bad = (tag: string) => Buffer.concat([Buffer.from(`https://example.com/${tag}/${crypto.randomUUID()}/`), Buffer.from([0xff, 0xfe])]);
    const create = await sys.request("POST", "/create", undefined, { headers: { ...auth(key), "content-type": "application/json" }, raw: Buffer.concat([Buffer.from('{"url":"'), bad("c"), Buffer.from('"}')]) });
    expect([create.status, ((await create.json()) as any).error.code]).toEqual([400, "invalid-json"]);
    const good = uniqueUrl("utf8-ok");
    const ndjson = Buffer.concat([Buffer.from('{"url":"'), bad("n"), Buffer.from(`"}\n{"url":"${good}\u00e9"}\n`)]);
    const fromNdjson = await importBody(key, "application/x-ndjson", ndjson);
    expect(fromNdjson.body).toMatchObject({ created: 1, invalid: 1, errors: [{ line: 1, code: "invalid-json" }] });
    const csv = Buffer.concat([Buffer.from("url\n"), bad("v"), Buffer.from(`\n${good}x\n`)]);
    const fromCsv = await importBody(key, "text/csv", csv);
    expect(fromCsv.body).toMatchObject({ created: 1, invalid: 1, errors: [{ line: 2, code: "invalid-body" }] });
    const stored = (await exported(key)).map((l) => l.long_url);
    expect(stored.some((u: string) => u.includes("%EF%BF%BD"))).toBe(false);
    expect(stored).toContain(new URL(`${good}\u00e9`).href);
  });

  test("a charset other than UTF-8 is 415 naming it, on /create, bulk and import", async () => {
    const key = await makeKey(sys.config, "charset");
    for (const charset of ["utf-16", '"UTF-16LE"', "iso-8859-1"]) {
      const type = `application/json; charset=${charset}`;
      for (const [path, body] of [["/create", { url: uniqueUrl("cs") }], ["/api/links/bulk", { links: [{ url: uniqueUrl("cs") }] }]] as const) {
        const res = await sys.request("POST", path, undefined, { headers: { ...auth(key), "content-type": type }, raw: JSON.stringify(body) });
        const json = (await res.json()) as any;
        expect([res.status, json.error.code]).toEqual([415, "unsupported-media-type"]);
        expect(json.error.message.toLowerCase()).toContain(charset.replaceAll('"', "").toLowerCase());
      }
      const imported = await importBody(key, `text/csv; charset=${charset}`, `url\n${uniqueUrl("cs")}\n`);
      expect([imported.status, imported.body.error.code]).toEqual([415, "unsupported-media-type"]);
    }
    const utf8 = await sys.request("POST", "/create", undefined, { headers: { "content-type": 'application/json; Charset="UTF-8"' }, raw: JSON.stringify({ url: uniqueUrl("cs-ok") }) });
    expect(utf8.status).toBe(201);
    expect((await exported(key)).length).toBe(0);
  });

  test("errors are in line order, whether found reading the line or creating its link", async () => {
    const key = await makeKey(sys.config, "order");
    const taken = uniqueAlias();
    expect((await sys.request("POST", "/create", { url: uniqueUrl("taken"), alias: taken }, { headers: auth(key) })).status).toBe(201);
    const lines = [JSON.stringify({ url: "ftp://example.com/x" }), "{nope", JSON.stringify({ url: uniqueUrl("t"), alias: taken }), JSON.stringify({ url: uniqueUrl("ok") }), JSON.stringify({ url: uniqueUrl("p"), expires_at: "2001-01-01T00:00:00Z" }), "[]"];
    const res = await importBody(key, "application/x-ndjson", lines.join("\n"));
    expect(res.body.errors.map((e: any) => [e.line, e.code])).toEqual([
      [1, "invalid-url"],
      [2, "invalid-json"],
      [3, "alias-taken"],
      [5, "invalid-body"],
      [6, "invalid-body"],
    ]);
  });

  test("a quoted CSV field with a line break is one field: never a truncated URL", async () => {
    const key = await makeKey(sys.config, "quoted");
    const base = uniqueUrl("q");
    const res = await importBody(key, "text/csv", `url,note\r\n"${base}/x\r\ny",\r\n"${base}/a,b",\"two\r\nlines\"\r\n${base}/z,\r\n`);
    expect(res.body).toMatchObject({ created: 2, invalid: 1, errors: [{ line: 2, code: "invalid-url" }] });
    expect((await exported(key)).map((l) => l.long_url).sort()).toEqual([`${base}/a,b`, `${base}/z`]);
  });
});

describe("IMPORT_MAX_BYTES", () => {
  const lines = (n: number, tag: string) => Array.from({ length: n }, (_, i) => JSON.stringify({ url: `https://example.com/${tag}/${i}/${"p".repeat(40)}` }) + "\n").join("");

  test("a declared length over the limit is a JSON 413 before anything is created", async () => {
    const key = await makeKey(small.config, "limit-declared");
    const body = lines(60, crypto.randomUUID());
    const res = await small.request("POST", "/api/links/import", undefined, { headers: { ...auth(key), "content-type": "application/x-ndjson", "content-length": String(Buffer.byteLength(body)) }, raw: body });
    const json = (await res.json()) as any;
    expect([res.status, json.error.code]).toEqual([413, "payload-too-large"]);
    expect(await exported(key, small)).toHaveLength(0);
  });

  test("a streamed body past the limit is a JSON 413 with the summary of the lines before it, and only those exist", async () => {
    const key = await makeKey(small.config, "limit-streamed");
    const tag = crypto.randomUUID();
    const body = Buffer.from(lines(60, tag));
    const res = await importBody(key, "application/x-ndjson", streamed(body), small);
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe("payload-too-large");
    const whole = body.subarray(0, LIMIT).toString().split("\n").length - 1;
    expect(res.body).toMatchObject({ created: whole, invalid: 0, failed: 0, stopped_at_line: whole + 1 });
    const stored = await exported(key, small);
    expect(stored).toHaveLength(whole);
    // Every stored URL is whole: the cut line was not created in part.
    for (const link of stored) expect(link.long_url).toMatch(new RegExp(`/${tag}/\\d+/p{40}$`));
  });

  test("a body within the limit is imported whole", async () => {
    const key = await makeKey(small.config, "limit-ok");
    const body = lines(10, crypto.randomUUID());
    expect(Buffer.byteLength(body)).toBeLessThan(LIMIT);
    expect(await importBody(key, "application/x-ndjson", streamed(Buffer.from(body)), small)).toMatchObject({ status: 200, body: { created: 10 } });
  });
});

// The class: any CSV a conforming writer makes (quotes, commas, line breaks in quoted fields, BOM,
// CRLF or LF) imports each valid row exactly once with its exact URL and reports each invalid row
// at the line it starts on, in line order.
describe("CSV import property", () => {
  const pathText = fc.string({ unit: fc.constantFrom("a", "Z", "9", ",", '"', "-", "\u00e9", "\u20ac", "%41", "'"), minLength: 1, maxLength: 8 });
  const noteText = fc.string({ unit: fc.constantFrom("n", ",", '"', "\r\n", "\n", " "), maxLength: 6 });
  const row = fc.record({
    kind: fc.constantFrom("valid", "valid", "valid", "newline-in-url", "bad-scheme", "zero-budget", "bad-utf8"),
    path: pathText,
    note: noteText,
    quote: fc.boolean(),
  });
  const file = fc.record({ rows: fc.array(row, { minLength: 1, maxLength: 8 }), bom: fc.boolean(), crlf: fc.boolean(), finalBreak: fc.boolean(), chunk: fc.integer({ min: 1, max: 64 }) });
  const cell = (text: string, quote: boolean) => (quote || /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text);

  test("every valid row once with its exact URL; every invalid row by its line, in order", async () => {
    await fc.assert(
      fc.asyncProperty(file, async (f) => {
        const key = await makeKey(sys.config, "csv-prop");
        const eol = f.crlf ? "\r\n" : "\n";
        const parts: Buffer[] = [Buffer.from(f.bom ? "\ufeffurl,note,max_visits" : "url,note,max_visits")];
        const valid: string[] = [];
        const invalid: number[] = [];
        let line = 2;
        for (const [i, r] of f.rows.entries()) {
          // \u0001 marks where a bad-utf8 row gets its invalid bytes, once the cell is serialised.
          const url = `https://example.com/${crypto.randomUUID()}/${i}/${r.path}${r.kind === "newline-in-url" ? "\nx" : r.kind === "bad-utf8" ? "\u0001" : ""}`.replace(/^https/, r.kind === "bad-scheme" ? "ftp" : "https");
          const [before, after = ""] = cell(url, r.quote).split("\u0001");
          const urlCell = r.kind === "bad-utf8" ? Buffer.concat([Buffer.from(before!), Buffer.from([0xc3, 0x28]), Buffer.from(after)]) : Buffer.from(before!);
          parts.push(Buffer.concat([Buffer.from(eol), urlCell, Buffer.from(`,${cell(r.note, r.quote)},${r.kind === "zero-budget" ? "0" : ""}`)]));
          if (r.kind === "valid") valid.push(new URL(url).href);
          else invalid.push(line);
          line += 1 + (`${url}${r.note}`.match(/\n/g)?.length ?? 0);
        }
        if (f.finalBreak) parts.push(Buffer.from(eol));
        const res = await importBody(key, "text/csv", streamed(Buffer.concat(parts), f.chunk));
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({ created: valid.length, duplicate: 0, invalid: invalid.length, failed: 0 });
        expect(res.body.errors.map((e: any) => e.line)).toEqual(invalid);
        expect((await exported(key)).map((l) => l.long_url).sort()).toEqual([...valid].sort());
      }),
      { numRuns: 15 },
    );
  }, 60_000);
});
