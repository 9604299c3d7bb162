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

  test("10k random u64 values round-trip, stay within 11 characters and sort like numbers at equal length", () => {
    // Uniform over u64 (most values are 11 characters), plus small ones so short lengths occur too.
    const values = [...crypto.getRandomValues(new BigUint64Array(9_000)), ...Array.from(crypto.getRandomValues(new BigUint64Array(1_000)), (v) => v >> BigInt(Number(v % 60n)))];
    let failures = 0;
    let misordered = 0;
    for (let i = 0; i < values.length; i++) {
      const n = values[i]!;
      const code = encodeBase62(n);
      if (decodeBase62(code) !== n || code.length > 11 || !/^[0-9A-Za-z]+$/.test(code)) failures++;
      const m = values[(i + 1) % values.length]!;
      const other = encodeBase62(m);
      if (code.length === other.length && code < other !== n < m) misordered++;
    }
    expect({ failures, misordered }).toEqual({ failures: 0, misordered: 0 });
  });

  test("encode refuses values outside u64", () => {
    expect(() => encodeBase62(-1n)).toThrow(RangeError);
    expect(() => encodeBase62(MAX_U64 + 1n)).toThrow(RangeError);
  });

  test.each(["", "a-b", "ab_", "é", " 1", "1 ", "a\n", "+1", "00", "0a", "123456789012", "LygHa16AHYG", "zzzzzzzzzzz"])("decode refuses %p", (text) => {
    expect(decodeBase62(text)).toBeNull();
  });
});
