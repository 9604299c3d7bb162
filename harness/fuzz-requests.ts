import fc from "fast-check";

/**
 * Random requests for every route of the service, for the property-based fuzz suite and the
 * long fuzz run in bench/: random methods, paths built from the real routes with random
 * segments and percent-encodings (valid, invalid and overlong), query noise, header noise
 * (content types, broken auth, forwarded-for junk), and bodies (random bytes, deep or wrong JSON,
 * plausible bodies with wrong types, huge strings), sent as fixed or streamed (chunked) bodies.
 */
export interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Uint8Array | string | null;
  chunked: boolean;
}

const segment = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/),
  fc.string({ maxLength: 20 }).map(encodeURIComponent),
  fc.constantFrom("%", "%z", "%zz", "%ff%fe", "ab%zz", "%00", "%2F", "%25", "..", ".", "%C0%AF", "%E2%80%AE", "%F0%9F%98%80", "aaaaaaaaaaa", "AzL8n0Y58m8", "0"),
  fc.string({ unit: "grapheme", maxLength: 8 }).map(encodeURIComponent),
  fc.integer({ min: 65, max: 400 }).map((n) => "a".repeat(n)),
);

/** Every published route (a test checks this list against the app's spec), plus paths around them. */
export const FUZZ_ROUTES = ["/", "/create", "/:x", "/api/links", "/api/links/:x", "/api/links/:x/stats", "/api/links/:x/stats/:x", "/api/links/:x/stats.csv", "/api/links/:x/qr", "/api/tags", "/api/admin/links/:x", "/api/admin/blocklist", "/api/report", "/api/admin/reports", "/api/stats", "/api/links/bulk", "/api/links/import", "/api/links/export", "/api/topology", "/api/metrics", "/metrics", "/health/live", "/health/ready", "/openapi.json", "/docs", "/dashboard/:x", "/app/:x", "/:x/:x", "/ws"];

const twoDigits = fc.integer({ min: 0, max: 99 }).map((n) => String(n).padStart(2, "0"));
/** List cursors of the API's shape (a position and a code, base64url JSON) with positions no calendar or clock has. */
const cursor = fc
  .tuple(
    fc.oneof(
      fc.tuple(fc.integer({ min: 0, max: 9999 }), twoDigits, twoDigits, twoDigits, twoDigits).map(([y, mo, d, h, mi]) => `${String(y).padStart(4, "0")}-${mo}-${d}T${h}:${mi}:00.000000Z`),
      fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String),
      fc.string({ maxLength: 12 }),
    ),
    fc.oneof(fc.stringMatching(/^[A-Za-z0-9]{1,11}$/), fc.string({ maxLength: 12 })),
  )
  .map((parts) => Buffer.from(JSON.stringify(parts)).toString("base64url"));

const path = fc
  .tuple(fc.constantFrom(...FUZZ_ROUTES), fc.array(segment, { minLength: 3, maxLength: 3 }), fc.option(fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 12 }), { maxKeys: 3 })), fc.option(cursor))
  .map(([route, segs, query, position]) => {
    let i = 0;
    const p = route.replace(/:x/g, () => segs[i++]!);
    const after = position === null ? "" : `${query ? "&" : "?"}cursor=${position}`;
    if (!query) return `${p}${after}`;
    const q = Object.entries(query).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&");
    return `${p}?${q}&limit=${encodeURIComponent(String(query[""] ?? "x"))}&granularity=${encodeURIComponent(Object.keys(query)[0] ?? "")}${after}`;
  });

const method = fc.oneof(fc.constantFrom("GET", "GET", "GET", "HEAD", "POST", "POST", "PATCH", "DELETE", "PUT", "OPTIONS"), fc.stringMatching(/^[A-Z]{3,8}$/));

/** A redirect rule as a client might get it right or wrong: known and unknown conditions, odd values. */
const ruleLike = fc.record(
  {
    when: fc.oneof(
      fc.record(
        {
          device: fc.oneof(fc.constantFrom("desktop", "mobile", "tablet", "phone"), fc.array(fc.string({ maxLength: 8 }), { maxLength: 4 })),
          os: fc.oneof(fc.constantFrom("ios", "android", "windows", "macos", "linux"), fc.string({ maxLength: 8 })),
          country: fc.oneof(fc.array(fc.string({ minLength: 2, maxLength: 2 }), { maxLength: 4 }), fc.string({ maxLength: 4 })),
          language: fc.oneof(fc.array(fc.string({ maxLength: 4 }), { maxLength: 3 }), fc.string({ maxLength: 4 })),
          query: fc.oneof(fc.dictionary(fc.string({ maxLength: 10 }), fc.oneof(fc.string({ maxLength: 10 }), fc.integer()), { maxKeys: 12 }), fc.string()),
          after: fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.string({ maxLength: 10 })),
          before: fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.string({ maxLength: 10 })),
          colour: fc.string({ maxLength: 5 }),
        },
        { requiredKeys: [] },
      ),
      fc.string({ maxLength: 10 }),
      fc.constant(null),
    ),
    url: fc.oneof(fc.webUrl(), fc.string({ maxLength: 30 }), fc.constantFrom("javascript:alert(1)", "http://localhost/x")),
  },
  { requiredKeys: [] },
);

const jsonBody = fc.oneof(
  fc.json({ depthSize: "large", maxDepth: 12 }),
  fc
    .record(
      {
        url: fc.oneof(fc.webUrl(), fc.string(), fc.integer(), fc.constant(null), fc.constantFrom("http://localhost:8080/x", "http://[::ffff:127.0.0.1]/", "javascript:alert(1)", "https://a@b/")),
        alias: fc.oneof(fc.string({ maxLength: 70 }), fc.integer(), fc.constant(null)),
        expires_at: fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.string(), fc.integer()),
        max_visits: fc.oneof(fc.integer(), fc.double(), fc.string(), fc.constant(null)),
        long_url: fc.oneof(fc.webUrl(), fc.string()),
        links: fc.oneof(fc.array(fc.record({ url: fc.oneof(fc.webUrl(), fc.string()) }), { maxLength: 5 }), fc.string(), fc.integer()),
        title: fc.oneof(fc.string({ maxLength: 220 }), fc.integer(), fc.constant(null)),
        password: fc.oneof(fc.string({ maxLength: 140 }), fc.integer(), fc.constant(null)),
        forward_query: fc.oneof(fc.boolean(), fc.string({ maxLength: 5 }), fc.constant(null)),
        tags: fc.oneof(fc.array(fc.oneof(fc.string({ maxLength: 40 }), fc.stringMatching(/^[a-z0-9-]{1,32}$/), fc.integer()), { maxLength: 12 }), fc.string(), fc.constant(null)),
        rules: fc.oneof(fc.array(ruleLike, { maxLength: 22 }), fc.string({ maxLength: 20 }), fc.constant(null), fc.integer()),
        // Hosts the fuzz may block (it holds an admin key) are kept under fuzz.test: the blocklist is the whole test cluster's.
        host: fc.oneof(fc.domain().map((d) => `${d}.fuzz.test`), fc.string({ maxLength: 300 }), fc.integer(), fc.constantFrom("xn--bcher-kva.fuzz.test", "bücher.fuzz.test", "FUZZ.test.", "a@b.fuzz.test:99", "*.evil.fuzz.test", "com", "[::1]", "*")),
        code: fc.oneof(fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/), fc.string({ maxLength: 80 }), fc.integer()),
        reason: fc.oneof(fc.string({ maxLength: 600 }), fc.integer(), fc.constant(null)),
        disabled: fc.oneof(fc.boolean(), fc.string({ maxLength: 5 }), fc.constant(null)),
      },
      { requiredKeys: [] },
    )
    .map((o) => JSON.stringify(o)),
  fc.constantFrom("", "{", "[]", "null", '{"url":', "\ufeff{}", '{"url":"https://example.com/"}'.repeat(3)),
  fc.integer({ min: 8_000, max: 40_000 }).map((n) => JSON.stringify({ url: `https://example.com/${"x".repeat(n)}` })),
);

const body = fc.oneof(
  fc.constant(null),
  jsonBody,
  fc.uint8Array({ maxLength: 512 }),
  fc.string({ maxLength: 300 }).map((s) => `url,alias\n${s}\n`),
);

const headerValue = fc.oneof(fc.string({ maxLength: 40 }).filter((s) => !/[\r\n\0]/.test(s)), fc.constantFrom("", " ", "Bearer ", "Bearer shk_AAAAAAAA_" + "B".repeat(36), "basic abc"));

const headers = fc.record(
  {
    "content-type": fc.oneof(fc.constantFrom("application/json", "application/json; charset=utf-8", "text/csv", "application/x-ndjson", "text/plain", "multipart/form-data", "application/x-www-form-urlencoded", ""), headerValue),
    authorization: headerValue,
    "x-api-key": headerValue,
    "x-forwarded-for": fc.oneof(fc.ipV4(), fc.ipV6(), headerValue),
    accept: fc.constantFrom("*/*", "application/json", "text/html"),
    "content-length": fc.nat({ max: 100_000 }).map(String),
  },
  { requiredKeys: [] },
).map((h) => Object.fromEntries(Object.entries(h).filter(([, v]) => /^[\t\x20-\x7e]*$/.test(v))));

export const fuzzRequest: fc.Arbitrary<FuzzRequest> = fc.record({ method, path, headers, body, chunked: fc.boolean() });

/** A Request for `base` (e.g. http://localhost or a live server): a streamed body has no length (chunked). */
export function toRequest(base: string, r: FuzzRequest): Request {
  const noBody = r.method === "GET" || r.method === "HEAD" || r.body === null;
  const headers = { ...r.headers };
  if (noBody || r.chunked) delete headers["content-length"];
  else headers["content-length"] = String(typeof r.body === "string" ? Buffer.byteLength(r.body) : r.body!.length);
  const payload = noBody ? undefined : r.chunked ? stream(r.body!) : r.body!;
  return new Request(`${base}${r.path}`, { method: r.method, headers, body: payload as RequestInit["body"], ...(r.chunked && !noBody ? { duplex: "half" } : {}) } as RequestInit);
}

function stream(body: Uint8Array | string): ReadableStream<Uint8Array> {
  const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(at, at + 97));
      at += 97;
    },
  });
}
