import { expect, test } from "bun:test";
import { encodeBase62 } from "../../src/domain/base62";
import { isReservedCode, isShortCodeShape } from "../../src/domain/short-code";
import { Snowflake } from "../../src/domain/snowflake";

test.each(["0", "a", "Z9", "8sHulm2g6M", "LygHa16AHYF"])("%p is a possible code", (code) => {
  expect(isShortCodeShape(code)).toBe(true);
});

test.each(["", "a-b", "a b", "a.js", "00", "0abc", "123456789012", "zzzzzzzzzzz", "ü", "a/b", "ＡＢ", "a\u0000", "%41", "abc\n"])("%p cannot be a code", (code) => {
  expect(isShortCodeShape(code)).toBe(false);
});

test("route names are reserved, whatever their case", () => {
  expect(isReservedCode("create")).toBe(true);
  expect(isReservedCode("Metrics")).toBe(true);
  expect(isReservedCode("8sHulm2g6M")).toBe(false);
});

test("every code the generator makes has the shape", () => {
  const gen = new Snowflake({ workerId: 1023, now: Date.now });
  const bad = Array.from({ length: 5000 }, () => encodeBase62(gen.next())).filter((c) => !isShortCodeShape(c));
  expect(bad).toEqual([]);
});
