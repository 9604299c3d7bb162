/**
 * What link owners organise and find their links by, against the real cluster: titles and tags
 * (validated, stored, edited), search (`q`) and the tag filter across every shard with the exact
 * cursor paging (also while links are being created), the key's tag counts, QR codes that decode
 * to the short URL with its marker and count as `source: qr`, and imports of the CSV exports of
 * Bitly, Shlink, Kutt and YOURLS that keep the codes people already printed.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import jsQR from "jsqr";
import { PNG } from "pngjs";
import { makeKey } from "../support/keys";
import { startSystem, uniqueUrl, type TestSystem } from "../../harness/system";

let sys: TestSystem;
let keyA: { id: string; text: string };
let keyB: { id: string; text: string };
beforeAll(async () => {
  sys = await startSystem({ RATE_LIMIT_ENABLED: "false", INSTANCE_ID: "23", CLICK_FLUSH_MS: "60000", ANALYTICS_FLUSH_MS: "0", HOT_CACHE_SIZE: "0" });
  keyA = await makeKey(sys.config, "organise-a");
  keyB = await makeKey(sys.config, "organise-b");
});
afterAll(() => sys.close());

const auth = (key: { text: string }) => ({ authorization: `Bearer ${key.text}` });

async function call(method: string, path: string, body?: unknown, key = keyA, headers: Record<string, string> = {}, raw?: RequestInit["body"]) {
  const res = await sys.request(method, path, body, { headers: { ...auth(key), ...headers }, raw });
  const text = await res.text();
  if (res.status >= 500) throw new Error(`${method} ${path} answered ${res.status}: ${text}`);
  let json: any = text;
  try {
    json = text === "" ? null : JSON.parse(text);
  } catch {}
  return { status: res.status, body: json, headers: res.headers };
}

/** Every link a listing shows, following next_cursor to the end. */
async function listAll(query: string, key = keyA, limit = 5): Promise<Array<{ short_code: string; title: string | null; tags: string[]; long_url: string }>> {
  const out: any[] = [];
  let cursor: string | null = null;
  do {
    const res: { status: number; body: any } = await call("GET", `/api/links?limit=${limit}&${query}${cursor ? `&cursor=${cursor}` : ""}`, undefined, key);
    expect(res.status).toBe(200);
    out.push(...res.body.links);
    cursor = res.body.next_cursor;
  } while (cursor !== null);
  return out;
}

describe("titles and tags", () => {
  test("create with a title and tags: stored (tags lowercase, once each), shown in details and list", async () => {
    const made = await call("POST", "/create", { url: uniqueUrl("titled"), title: "  Launch page  ", tags: ["Launch", "q3-2026", "launch"] });
    expect(made.status).toBe(201);
    const details = await call("GET", `/api/links/${made.body.short_code}`);
    expect([details.body.title, details.body.tags]).toEqual(["Launch page", ["launch", "q3-2026"]]);
  });

  test("the same URL under another title is a link of its own", async () => {
    const url = uniqueUrl("two-titles");
    const a = await call("POST", "/create", { url, title: "One" });
    const b = await call("POST", "/create", { url, title: "Two" });
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(a.body.short_code).not.toBe(b.body.short_code);
  });

  test.each([
    [{ title: "x".repeat(201) }, "title must be at most 200 characters"],
    [{ title: "bell\u0007" }, "title must not contain control characters"],
    [{ title: 7 }, "title must be a string"],
    [{ tags: "a,b" }, "tags must be an array of strings"],
    [{ tags: ["ok", "not ok"] }, "each tag must be 1-32 of a-z 0-9 -"],
    [{ tags: ["x".repeat(33)] }, "each tag must be 1-32 of a-z 0-9 -"],
    [{ tags: [""] }, "each tag must be 1-32 of a-z 0-9 -"],
    [{ tags: [1] }, "each tag must be a string"],
    [{ tags: Array.from({ length: 11 }, (_, i) => `t${i}`) }, "at most 10 tags"],
  ])("%j is a 400 naming the problem, on create, bulk and edit", async (extra, message) => {
    const created = await call("POST", "/create", { url: uniqueUrl("bad-meta"), ...extra });
    expect([created.status, created.body.error.message]).toEqual([400, message]);
    // A bulk body is checked whole, as for a bad expires_at: nothing is created.
    const bulk = await call("POST", "/api/links/bulk", { links: [{ url: uniqueUrl("bad-meta-bulk"), ...extra }] });
    expect([bulk.status, bulk.body.error.message]).toEqual([400, message]);
    const target = await call("POST", "/create", { url: uniqueUrl("bad-meta-edit") });
    const edited = await call("PATCH", `/api/links/${target.body.short_code}`, extra);
    expect([edited.status, edited.body.error.message]).toEqual([400, message]);
  });

  test("edit: a new title and tags, then removed (null title, [] tags); the link still redirects", async () => {
    const url = uniqueUrl("edit-meta");
    const made = await call("POST", "/create", { url, title: "Before", tags: ["old"] });
    const code = made.body.short_code;
    const edited = await call("PATCH", `/api/links/${code}`, { title: "After", tags: ["new", "Second"] });
    expect([edited.status, edited.body.title, edited.body.tags]).toEqual([200, "After", ["new", "second"]]);
    const cleared = await call("PATCH", `/api/links/${code}`, { title: null, tags: [] });
    expect([cleared.body.title, cleared.body.tags]).toEqual([null, []]);
    const res = await sys.request("GET", `/${code}`);
    expect([res.status, res.headers.get("location")]).toEqual([302, url]);
  });
});

describe("search and tag filter across the shards", () => {
  const token = `needle${crypto.randomUUID().slice(0, 8)}`;
  const tag = `t-${crypto.randomUUID().slice(0, 8)}`;
  let inTitle: string[] = [];
  let inUrl: string[] = [];
  let tagged: string[] = [];
  beforeAll(async () => {
    const mk = (body: Record<string, unknown>) => call("POST", "/create", body).then((r) => r.body.short_code as string);
    inTitle = await Promise.all(Array.from({ length: 12 }, (_, i) => mk({ url: uniqueUrl(`search-title-${i}`), title: `Report ${token.toUpperCase()} ${i}` })));
    inUrl = await Promise.all(Array.from({ length: 5 }, (_, i) => mk({ url: `https://search.example/${token}/${i}` })));
    tagged = await Promise.all(Array.from({ length: 7 }, (_, i) => mk({ url: uniqueUrl(`tagged-${i}`), tags: [tag, i % 2 === 0 ? "even" : "odd"] })));
    // Decoys: another key's link with the token, and this key's links without it.
    await call("POST", "/create", { url: `https://search.example/${token}/other-key`, title: token, tags: [tag] }, keyB);
    await Promise.all(Array.from({ length: 6 }, (_, i) => mk({ url: uniqueUrl(`decoy-${i}`), title: "nothing here" })));
  });

  test("the links span more than one shard", async () => {
    // Each redirect's status and shard, so a failure says whether the links were placed on one shard or not served.
    const answers: string[] = [];
    for (const code of [...inTitle, ...inUrl, ...tagged]) {
      const res = await sys.request("GET", `/${code}`);
      answers.push(`${res.status} shard ${res.headers.get("x-shard")}`);
    }
    expect(answers.filter((a) => !a.startsWith("302 "))).toEqual([]);
    expect(new Set(answers).size, answers.join(", ")).toBeGreaterThan(1);
  });

  test("q matches title and long URL case-insensitively: every match exactly once, paged 5 at a time, newest first", async () => {
    const found = await listAll(`q=${token}`);
    const codes = found.map((l) => l.short_code);
    expect(codes.length).toBe(new Set(codes).size);
    expect(new Set(codes)).toEqual(new Set([...inTitle, ...inUrl]));
  });

  test("q matches a code (or alias) and takes %, _ and \\ literally", async () => {
    // Case-insensitive, as q is everywhere: a generated code that differs only in case (codes are
    // case-sensitive) matches too, and every link listed holds the text somewhere.
    const byCode = await listAll(`q=${inUrl[2]}`);
    expect(byCode.map((l) => l.short_code)).toContain(inUrl[2]!);
    expect(byCode.filter((l) => !`${l.short_code} ${l.title ?? ""} ${l.long_url}`.toLowerCase().includes(inUrl[2]!.toLowerCase()))).toEqual([]);
    const alias = `pct-${crypto.randomUUID().slice(0, 6)}`;
    await call("POST", "/create", { url: uniqueUrl("percent"), alias, title: "100%_done\\ok" });
    expect((await listAll(`q=${encodeURIComponent("100%_done\\ok")}`)).map((l) => l.short_code)).toEqual([alias]);
    expect(await listAll(`q=${encodeURIComponent("100%x")}`)).toEqual([]);
  });

  test("tag filters, alone and with q; tags count the key's links only", async () => {
    expect(new Set((await listAll(`tag=${tag}`)).map((l) => l.short_code))).toEqual(new Set(tagged));
    expect(new Set((await listAll(`tag=${tag.toUpperCase()}`)).map((l) => l.short_code))).toEqual(new Set(tagged));
    expect((await listAll(`tag=${tag}&q=${token}`)).length).toBe(0);
    const tags = (await call("GET", "/api/tags")).body.tags as Array<{ tag: string; links: number }>;
    expect(tags.find((t) => t.tag === tag)?.links).toBe(7);
    expect(tags.find((t) => t.tag === "even")?.links).toBeGreaterThanOrEqual(4);
    const other = (await call("GET", "/api/tags", undefined, keyB)).body.tags as Array<{ tag: string; links: number }>;
    expect(other.find((t) => t.tag === tag)?.links).toBe(1);
  });

  test("paging through matches while matching links are being created: none twice, none made before the first page missed", async () => {
    const before = new Set((await listAll(`q=${token}`)).map((l) => l.short_code));
    let stop = false;
    const made: string[] = [];
    const creator = (async () => {
      for (let i = 0; !stop; i++) {
        const res = await call("POST", "/create", { url: uniqueUrl(`during-${i}`), title: `${token} during ${i}` });
        made.push(res.body.short_code);
      }
    })();
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: { body: any } = await call("GET", `/api/links?limit=3&q=${token}${cursor ? `&cursor=${cursor}` : ""}`);
      seen.push(...res.body.links.map((l: any) => l.short_code));
      cursor = res.body.next_cursor;
      await Bun.sleep(20);
    } while (cursor !== null);
    stop = true;
    await creator;
    expect(made.length).toBeGreaterThan(0);
    expect(seen.length).toBe(new Set(seen).size);
    expect([...before].filter((c) => !seen.includes(c))).toEqual([]);
  });

  test.each([
    ["q", "x".repeat(201), "q must be at most 200 characters"],
    ["tag", "not ok", "each tag must be 1-32 of a-z 0-9 -"],
  ])("a bad %s is a 400 naming it", async (name, value, message) => {
    const res = await call("GET", `/api/links?${name}=${encodeURIComponent(value)}`);
    expect([res.status, res.body.error.message]).toEqual([400, message]);
  });
});

describe("QR codes", () => {
  let code: string;
  let shortUrl: string;
  beforeAll(async () => {
    const made = await call("POST", "/create", { url: uniqueUrl("qr") });
    code = made.body.short_code;
    shortUrl = made.body.short_url;
  });

  test("PNG decodes to the short URL with the scan marker; SVG is an SVG of the same size", async () => {
    const png = await sys.request("GET", `/api/links/${code}/qr?format=png&size=300&margin=2`, undefined, { headers: auth(keyA) });
    expect([png.status, png.headers.get("content-type")]).toEqual([200, "image/png"]);
    const image = PNG.sync.read(Buffer.from(await png.arrayBuffer()));
    expect(image.width).toBeGreaterThanOrEqual(300);
    expect(jsQR(new Uint8ClampedArray(image.data), image.width, image.height)?.data).toBe(`${shortUrl}?qr=1`);
    const svg = await sys.request("GET", `/api/links/${code}/qr?format=svg&size=300`, undefined, { headers: auth(keyA) });
    expect([svg.status, svg.headers.get("content-type")]).toEqual([200, "image/svg+xml"]);
    expect(await svg.text()).toMatch(/^<svg[^>]*width="300"/);
  });

  test("cached: an ETag that answers 304, and another image for other options", async () => {
    const first = await sys.request("GET", `/api/links/${code}/qr`, undefined, { headers: auth(keyA) });
    const etag = first.headers.get("etag")!;
    expect(etag).toMatch(/^".+"$/);
    const again = await sys.request("GET", `/api/links/${code}/qr`, undefined, { headers: { ...auth(keyA), "if-none-match": etag } });
    expect(again.status).toBe(304);
    const other = await sys.request("GET", `/api/links/${code}/qr?size=512`, undefined, { headers: auth(keyA) });
    expect(other.headers.get("etag")).not.toBe(etag);
  });

  test("only for the link's owner; bad options are a 400 naming them", async () => {
    expect((await call("GET", `/api/links/${code}/qr`, undefined, keyB)).status).toBe(404);
    expect((await sys.request("GET", `/api/links/${code}/qr`)).status).toBe(401);
    for (const [query, message] of [
      ["format=gif", "format must be svg or png"],
      ["size=10", "size must be >= 64"],
      ["size=big", "size must be a number"],
      ["margin=99", "margin must be <= 16"],
    ]) {
      const res = await call("GET", `/api/links/${code}/qr?${query}`);
      expect([res.status, res.body.error.message]).toEqual([400, message]);
    }
  });

  test("a scan (the marked URL) redirects to the target and counts as source qr; a plain click as link", async () => {
    const scan = await sys.request("GET", `/${code}?qr=1`);
    expect(scan.status).toBe(302);
    expect(scan.headers.get("location")).not.toContain("qr=1");
    await sys.request("GET", `/${code}`);
    await sys.request("GET", `/${code}`);
    await sys.composed.clickFlusher.flush();
    const stats = await call("GET", `/api/links/${code}/stats/source`);
    expect(stats.body.items.map((i: any) => [i.value, i.clicks])).toEqual([
      ["link", 2],
      ["qr", 1],
    ]);
  });
});

describe("import from other shorteners", () => {
  const fixture = (name: string) => readFileSync(join(import.meta.dir, "..", "fixtures", "import", name));
  const importCsv = (name: string, key = keyA) => call("POST", "/api/links/import", undefined, key, { "content-type": "text/csv" }, fixture(name));

  test.each([
    ["bitly.csv", "bitly", ["3Xk9aQz", "acme-docs", "2zZyYxX"], { "3Xk9aQz": ["Spring sale", ["marketing", "spring-2024"]], "acme-docs": ["Docs", []], "2zZyYxX": ["Careers, Jobs & more", ["hiring"]] }],
    ["shlink.csv", "shlink", ["abc123", "promo-2024", "x"], { abc123: ["Our blog", ["blog", "news"]], "promo-2024": [null, ["promo"]], x: ["Shortest", []] }],
    ["kutt.csv", "kutt", ["kUt7a", "events"], { kUt7a: ["Home page", []], events: ["Events", []] }],
    ["yourls.csv", "yourls", ["yr1", "yr-two"], { yr1: ["First link", []], "yr-two": ["Second link", []] }],
  ] as const)("%s: recognised, every link created under its old code, with its title and tags; the old codes redirect", async (file, format, codes, meta) => {
    const res = await importCsv(file);
    expect(res.status).toBe(200);
    expect([res.body.format, res.body.created, res.body.invalid, res.body.failed, res.body.renamed]).toEqual([format, codes.length, 0, 0, []]);
    expect(res.body.kept).toEqual([...codes]);
    const rows = readFileSync(join(import.meta.dir, "..", "fixtures", "import", file), "utf8");
    for (const code of codes) {
      const details = await call("GET", `/api/links/${code}`);
      expect([details.status, details.body.title, details.body.tags]).toEqual([200, ...(meta as unknown as Record<string, unknown[]>)[code]!]);
      const hop = await sys.request("GET", `/${code}`);
      expect(hop.status).toBe(302);
      expect(rows).toContain(hop.headers.get("location")!);
    }
  });

  test("imported again by the same key: duplicates, codes still kept, nothing renamed", async () => {
    const res = await importCsv("shlink.csv");
    expect([res.body.created, res.body.duplicate, res.body.kept, res.body.renamed]).toEqual([0, 3, ["abc123", "promo-2024", "x"], []]);
  });

  test("by another key, whose codes are taken here: created under new codes, each listed as renamed", async () => {
    const res = await importCsv("yourls.csv", keyB);
    expect([res.body.created, res.body.kept]).toEqual([2, []]);
    expect(res.body.renamed.map((r: any) => [r.line, r.from, r.reason])).toEqual([
      [2, "yr1", "taken here"],
      [3, "yr-two", "taken here"],
    ]);
    for (const r of res.body.renamed) expect((await call("GET", `/api/links/${r.to}`, undefined, keyB)).status).toBe(200);
  });
});
