import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { aliasFallback, checkAlias, isLinkPathShape } from "../../src/domain/alias";
import { hashKey, keyIdOf, newApiKey } from "../../src/domain/api-key";
import { EPOCH_MS, SEQUENCE_BITS, WORKER_ID_BITS } from "../../src/domain/snowflake";
import { encodeBase62 } from "../../src/domain/base62";
import { isShortCodeShape } from "../../src/domain/short-code";

describe("aliases", () => {
  test("case-insensitive: stored lowercase", () => {
    expect(checkAlias("My-Link_1")).toEqual({ ok: true, alias: "my-link_1" });
  });

  test("refused: bad characters, too long, reserved names, and the shape of generated codes", () => {
    for (const bad of ["", "a b", "ü", "a.b", "a".repeat(65), "api", "Dashboard", "abcdefghij", "123456789ab", "abcdefghijk", "zzzzzzzzzzz", "0123456789"]) expect([bad, checkAlias(bad).ok]).toEqual([bad, false]);
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

  test("property: any string of the generated-code shape (10 or 11 letters and digits, any case) is refused", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9A-Za-z]{10,11}$/), (text) => {
        expect([text, checkAlias(text).ok]).toEqual([text, false]);
      }),
      { numRuns: 2000 },
    );
  });

  test("property: no capitalisation of an accepted alias is a code generated now or later", () => {
    const id = fc
      .tuple(fc.integer({ min: Date.now() - EPOCH_MS, max: 2 ** 41 - 1 }), fc.integer({ min: 0, max: 2 ** (WORKER_ID_BITS + SEQUENCE_BITS) - 1 }))
      .map(([ms, low]) => (BigInt(ms) << BigInt(WORKER_ID_BITS + SEQUENCE_BITS)) | BigInt(low));
    fc.assert(
      fc.property(id, fc.array(fc.boolean(), { minLength: 11, maxLength: 11 }), (n, flips) => {
        const code = encodeBase62(n);
        const typed = [...code].map((ch, i) => (flips[i] ? ch.toUpperCase() : ch.toLowerCase())).join("");
        expect([typed, checkAlias(typed).ok]).toEqual([typed, false]);
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.oneof(fc.stringMatching(/^[0-9A-Za-z_-]{1,64}$/), fc.stringMatching(/^[0-9A-Za-z]{10,11}$/)), fc.array(fc.boolean(), { minLength: 64, maxLength: 64 }), (raw, flips) => {
        const checked = checkAlias(raw);
        if (!checked.ok) return;
        const spelled = [...checked.alias].map((ch, i) => (flips[i] ? ch.toUpperCase() : ch)).join("");
        expect([spelled, spelled.length >= 10 && isShortCodeShape(spelled)]).toEqual([spelled, false]);
      }),
      { numRuns: 2000 },
    );
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
