import { describe, expect, test } from "bun:test";
import { decodeBase62, encodeBase62 } from "../../src/domain/base62";

const MAX_U64 = (1n << 64n) - 1n;

describe("Base62", () => {
  test.each([0n, 1n, 61n, 62n, 3843n, 3844n, (1n << 63n) - 1n, MAX_U64])("round trip %p", (n) => {
    expect(decodeBase62(encodeBase62(n))).toBe(n);
  });

  test("known encodings", () => {
    expect(encodeBase62(0n)).toBe("0");
    expect(encodeBase62(61n)).toBe("z");
    expect(encodeBase62(62n)).toBe("10");
    expect(encodeBase62(MAX_U64)).toBe("LygHa16AHYF");
  });

  test("10k random values round-trip and keep numeric order for equal lengths", () => {
    const values = Array.from({ length: 10_000 }, () => BigInt.asUintN(64, BigInt(Math.floor(Math.random() * 2 ** 53)) * BigInt(Math.floor(Math.random() * 2 ** 11) + 1)));
    for (const n of values) expect(decodeBase62(encodeBase62(n))).toBe(n);
    const a = 1234567890123n;
    const b = a + 1n;
    expect(encodeBase62(a) < encodeBase62(b)).toBe(true);
  });

  test("encode refuses values outside u64", () => {
    expect(() => encodeBase62(-1n)).toThrow(RangeError);
    expect(() => encodeBase62(MAX_U64 + 1n)).toThrow(RangeError);
  });

  test.each(["", "a-b", "ab_", "é", " 1", "00", "0a", "123456789012", "LygHa16AHYG", "zzzzzzzzzzz"])("decode refuses %p", (text) => {
    expect(decodeBase62(text)).toBeNull();
  });
});
