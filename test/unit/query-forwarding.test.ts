import { expect, test } from "bun:test";
import fc from "fast-check";
import { forwardedQuery } from "../../src/domain/query-forwarding";

test.each([
  ["https://t.example/a", "http://s.test/x", "https://t.example/a"],
  ["https://t.example/a", "http://s.test/x?", "https://t.example/a"],
  ["https://t.example/a", "http://s.test/x?utm_source=mail", "https://t.example/a?utm_source=mail"],
  ["https://t.example/a?id=1", "http://s.test/x?utm=2", "https://t.example/a?id=1&utm=2"],
  ["https://t.example/a?id=1", "http://s.test/x?id=9&b=2", "https://t.example/a?id=1&b=2"],
  ["https://t.example/a#top", "http://s.test/x?b=2", "https://t.example/a?b=2#top"],
  ["https://t.example/a?id=1#top", "http://s.test/x?b=%20c", "https://t.example/a?id=1&b=%20c#top"],
  ["https://t.example/a", "http://s.test/x?qr=1", "https://t.example/a"],
  ["https://t.example/a", "http://s.test/x?qr=1&c=3", "https://t.example/a?c=3"],
  ["https://t.example/a", "http://s.test/x?qr=2", "https://t.example/a?qr=2"],
  ["https://t.example/a?", "http://s.test/x?c=3", "https://t.example/a?c=3"],
  ["https://t.example/a?my+name=1", "http://s.test/x?my%20name=2", "https://t.example/a?my+name=1"],
  ["https://t.example/a", "http://s.test/x?bad=%E0%A4%A", "https://t.example/a?bad=%E0%A4%A"],
])("%s with %s → %s", (target, request, location) => {
  expect(forwardedQuery(target, request)).toBe(location);
});

test("property: every parameter of the target is kept as it was, and each forwarded name is new to it", () => {
  const name = fc.stringMatching(/^[a-z]{1,4}$/);
  const params = fc.array(fc.tuple(name, fc.stringMatching(/^[a-z0-9]{0,4}$/)), { maxLength: 5 });
  fc.assert(
    fc.property(params, params, (own, sent) => {
      const target = `https://t.example/p${own.length ? `?${own.map(([k, v]) => `${k}=${v}`).join("&")}` : ""}`;
      const request = `http://s.test/x${sent.length ? `?${sent.map(([k, v]) => `${k}=${v}`).join("&")}` : ""}`;
      const out = new URL(forwardedQuery(target, request));
      const got = [...out.searchParams];
      expect(got.slice(0, own.length)).toEqual(own);
      const ownNames = new Set(own.map(([k]) => k));
      expect(got.slice(own.length)).toEqual(sent.filter(([k, v]) => !ownNames.has(k) && !(k === "qr" && v === "1")));
    }),
    { numRuns: 300 },
  );
});
