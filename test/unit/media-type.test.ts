import { describe, expect, test } from "bun:test";
import { AppError } from "../../src/errors";
import { mediaTypeOf, requireUtf8 } from "../../src/http/media-type";

describe("media type and charset", () => {
  test.each([
    ["application/json", "application/json", null],
    ["Application/JSON ; charset=UTF-8", "application/json", "utf-8"],
    ['application/json;CHARSET="utf-16"', "application/json", "utf-16"],
    ["text/csv; header=present; charset=latin1", "text/csv", "latin1"],
    ['text/csv; note="a;b"; charset = "UTF-8"', "text/csv", "utf-8"],
    ["", "", null],
  ])("%j", (header, type, charset) => {
    expect(mediaTypeOf(header)).toEqual({ type, charset });
  });

  test("UTF-8 (or none) passes; any other charset is a 415 naming it", () => {
    for (const ok of [null, "utf-8", "utf8"]) expect(() => requireUtf8(ok)).not.toThrow();
    for (const other of ["utf-16", "utf-16le", "iso-8859-1", "us-ascii", ""]) {
      let error: unknown;
      try {
        requireUtf8(other);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(AppError);
      expect((error as AppError).code).toBe("unsupported-media-type");
      expect((error as AppError).message).toContain(JSON.stringify(other));
    }
  });
});
