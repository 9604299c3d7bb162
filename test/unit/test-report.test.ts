import { describe, expect, test } from "bun:test";
import { failureReports, parseSummary } from "../../scripts/test-report";

/** What bun test 1.4 printed for a file with one failure among passes, colours included. */
const OUTPUT = [
  "bun test v1.4.5 (a7733435c)",
  "",
  "test/a.test.ts:",
  "noise",
  "\x1b[32m(pass)\x1b[0m ok one [0.32ms]",
  "made 3, 1 answered 5xx",
  "error: expect(received).toBe(expected)",
  "",
  "Expected: 0",
  "Received: 1",
  "",
  "      at <anonymous> (/tmp/bt/a.test.ts:3:74)",
  "\x1b[31m(fail)\x1b[0m bad one [0.87ms]",
  "(pass) ok two [0.10ms]",
  "",
  "test/b.test.ts:",
  "error: beforeAll hook failed",
  "(fail) b > first [1.00ms]",
  "",
  "2 tests failed:",
  "(fail) bad one [0.87ms]",
  "(fail) b > first [1.00ms]",
  "",
  " 2 pass",
  " 2 fail",
  "Ran 4 tests across 2 files. [43.00ms]",
].join("\n");

describe("reading bun test's output", () => {
  test("the summary counts", () => {
    expect(parseSummary(OUTPUT)).toEqual({ passed: 2, failed: 2 });
  });
  test("each failure with the lines it printed, and nothing of the tests around it", () => {
    const reports = failureReports(OUTPUT);
    expect(reports).toHaveLength(2);
    expect(reports[0]!.split("\n")[0]).toBe("made 3, 1 answered 5xx");
    expect(reports[0]).toContain("Received: 1");
    expect(reports[0]!.split("\n").at(-1)).toBe("(fail) bad one [0.87ms]");
    expect(reports[1]).toBe("error: beforeAll hook failed\n(fail) b > first [1.00ms]");
  });
  test("a long report keeps its last lines", () => {
    const long = ["f.test.ts:", ...Array.from({ length: 100 }, (_, i) => `line ${i}`), "(fail) long"].join("\n");
    const [report] = failureReports(long, 10);
    expect(report!.split("\n")).toEqual([...Array.from({ length: 9 }, (_, i) => `line ${91 + i}`), "(fail) long"]);
  });
  test("no failure, no report", () => {
    expect(failureReports(OUTPUT.replace(/\(fail\)/g, "(pass)"))).toEqual([]);
  });
});
