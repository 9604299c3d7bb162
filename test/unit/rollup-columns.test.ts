import { expect, test } from "bun:test";
import fc from "fast-check";
import { arrayLiteral, quotedItem, rollupColumns, textItems } from "../../src/storage/rollup-columns";

/** A PostgreSQL array literal of quoted items, read back by the rules of array input (quoted elements, backslash escapes). */
function parseQuotedArray(literal: string): string[] {
  expect(literal.startsWith("{") && literal.endsWith("}")).toBe(true);
  const body = literal.slice(1, -1);
  const out: string[] = [];
  let i = 0;
  while (i < body.length) {
    expect(body[i]).toBe('"');
    let value = "";
    i++;
    while (body[i] !== '"') {
      if (body[i] === "\\") i++;
      value += body[i];
      i++;
    }
    out.push(value);
    i++;
    if (i < body.length) {
      expect(body[i]).toBe(",");
      i++;
    }
  }
  return out;
}

test("property: any strings survive as quoted array items, in order", () => {
  fc.assert(
    fc.property(fc.array(fc.string({ unit: "binary", maxLength: 20 }), { maxLength: 30 }), (values) => {
      expect(parseQuotedArray(arrayLiteral(textItems(values)))).toEqual(values);
    }),
  );
});

test("an item is always quoted, so NULL and the empty string stay text", () => {
  expect(quotedItem("NULL")).toBe('"NULL"');
  expect(quotedItem("")).toBe('""');
  expect(quotedItem('a"b\\c')).toBe('"a\\"b\\\\c"');
});

test("pieces join with commas, empty pieces are skipped", () => {
  expect(arrayLiteral("", '"a"', "", '"b","c"', "")).toBe('{"a","b","c"}');
  expect(arrayLiteral()).toBe("{}");
});

test("columns line up: one entry per link, per dimension row and per visitor, each tagged with its link", () => {
  const columns = rollupColumns([
    { code: "a", humans: 2, bots: 1, dims: [["country", "US", 2, 2], ["referrer", 'x"y', 1, 0]], visitors: ["5", "-6"] },
    { code: "b", humans: 0, bots: 3, dims: [], visitors: [] },
  ]);
  expect(columns).toEqual({
    links: 2,
    codes: '"a","b"',
    humans: "2,0",
    bots: "1,3",
    dimRows: 2,
    dimCodes: '"a","a"',
    dimNames: "country,referrer",
    dimValues: '"US","x\\"y"',
    dimClicks: "2,1",
    dimHumans: "2,0",
    visitorRows: 2,
    visitorCodes: '"a","a"',
    visitorIds: "5,-6",
  });
});
