import { expect, test } from "bun:test";
import { isReservedCode, isShortCodeShape } from "../../src/domain/short-code";

test.each(["0", "a", "Z9", "8sHulm2g6M", "LygHa16AHYF"])("%p is a possible code", (code) => {
  expect(isShortCodeShape(code)).toBe(true);
});

test.each(["", "a-b", "a b", "a.js", "00", "0abc", "123456789012", "zzzzzzzzzzz", "ü", "a/b"])("%p cannot be a code", (code) => {
  expect(isShortCodeShape(code)).toBe(false);
});

test("route names are reserved, whatever their case", () => {
  expect(isReservedCode("create")).toBe(true);
  expect(isReservedCode("Metrics")).toBe(true);
  expect(isReservedCode("8sHulm2g6M")).toBe(false);
});
