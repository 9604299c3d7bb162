import { describe, expect, test } from "bun:test";
import { aliasFallback, checkAlias, isLinkPathShape } from "../../src/domain/alias";
import { hashKey, keyIdOf, newApiKey } from "../../src/domain/api-key";
import { encodeBase62 } from "../../src/domain/base62";
import { isShortCodeShape } from "../../src/domain/short-code";

describe("aliases", () => {
  test("case-insensitive: stored lowercase", () => {
    expect(checkAlias("My-Link_1")).toEqual({ ok: true, alias: "my-link_1" });
  });

  test("refused: bad characters, too long, reserved names, and the shape of generated codes", () => {
    for (const bad of ["", "a b", "ü", "a.b", "a".repeat(65), "api", "Dashboard", "abcdefghij", "123456789ab"]) expect(checkAlias(bad).ok).toBe(false);
    for (const good of ["a", "go", "abcdefghi", "abcdefghij-", "a".repeat(64), "summer_sale"]) expect(checkAlias(good).ok).toBe(true);
  });

  test("never equal to a code generated now or later: an accepted alias is never a possible code of 10-11 characters", () => {
    const now = (BigInt(Date.now() - 1_767_225_600_000) << 22n) | 1234n;
    expect(encodeBase62(now).length).toBeGreaterThanOrEqual(10);
    for (let k = 0n; k < 2000n; k++) {
      const lower = encodeBase62(now + k * 987_654_321_987n).toLowerCase();
      // Lowercased, a code is either not a code at all or refused as an alias.
      expect(checkAlias(lower).ok && isShortCodeShape(lower)).toBe(false);
    }
  });

  test("paths: codes and aliases pass the shape check; anything else is rejected without storage", () => {
    for (const ok of ["8sHulm2g6M", "my-link", "A_b"]) expect(isLinkPathShape(ok)).toBe(true);
    for (const bad of ["", "a.b", "a b", "%", "a".repeat(65)]) expect(isLinkPathShape(bad)).toBe(false);
    expect([aliasFallback("MyLink"), aliasFallback("mylink"), aliasFallback("a.B")]).toEqual(["mylink", null, null]);
  });
});

describe("API keys", () => {
  test("format shk_<8 id>_<36 secret>, the id readable back, the hash of the whole text", () => {
    const key = newApiKey((n) => crypto.getRandomValues(new Uint8Array(n)));
    expect(key.text).toMatch(/^shk_[0-9A-Za-z]{8}_[0-9A-Za-z]{36}$/);
    expect(keyIdOf(key.text)).toBe(key.id);
    expect(hashKey(key.text).equals(key.hash)).toBe(true);
    expect(keyIdOf("shk_short_x")).toBeNull();
    const zeros = newApiKey((n) => new Uint8Array(n));
    expect(zeros.text).toBe(`shk_00000000_${"0".repeat(36)}`);
  });
});
