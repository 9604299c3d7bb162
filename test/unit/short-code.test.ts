import { expect, test } from "bun:test";
import { encodeBase62 } from "../../src/domain/base62";
import { isReservedCode, isShortCodeShape } from "../../src/domain/short-code";
import { Snowflake } from "../../src/domain/snowflake";

test.each(["0", "a", "Z9", "8sHulm2g6M", "zzzzzzzzzz", "AzL8n0Y58m7"])("%p is a possible code", (code) => {
  expect(isShortCodeShape(code)).toBe(true);
});

test.each(["", "a-b", "a b", "a.js", "00", "0abc", "123456789012", "zzzzzzzzzzz", "AzL8n0Y58m8", "B0000000000", "LygHa16AHYF", "ü", "a/b", "ＡＢ", "a\u0000", "%41", "abc\n"])("%p cannot be a code", (code) => {
  expect(isShortCodeShape(code)).toBe(false);
});

test("route names are reserved, whatever their case", () => {
  expect(isReservedCode("create")).toBe(true);
  expect(isReservedCode("Metrics")).toBe(true);
  expect(isReservedCode("8sHulm2g6M")).toBe(false);
});

test("the string comparison agrees with decoding for codes around the 2^63 boundary", () => {
  for (const n of [2n ** 63n - 2n, 2n ** 63n - 1n, 2n ** 63n, 2n ** 63n + 62n, 62n ** 10n - 1n, 62n ** 10n]) {
    expect(isShortCodeShape(encodeBase62(n))).toBe(n < 2n ** 63n);
  }
});

test("every code the generator makes has the shape", () => {
  const gen = new Snowflake({ workerId: 1023, now: Date.now });
  const bad = Array.from({ length: 5000 }, () => encodeBase62(gen.next())).filter((c) => !isShortCodeShape(c));
  expect(bad).toEqual([]);
});
