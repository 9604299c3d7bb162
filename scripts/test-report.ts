/** Reading bun test's output: the summary counts and each failure's own lines. */

/** bun test ends with lines like " 12 pass" and " 1 fail"; the last of each counts. */
export function parseSummary(text: string): { passed: number; failed: number } {
  const plain = text.replace(/\x1b\[[0-9;]*m/g, "");
  const last = (word: string) => {
    const all = [...plain.matchAll(new RegExp(`^\\s*(\\d+) ${word}\\s*$`, "gm"))];
    return all.length > 0 ? Number(all[all.length - 1]![1]) : 0;
  };
  return { passed: last("pass"), failed: last("fail") };
}

/**
 * Each failed test's block as bun test printed it: the lines after the previous test's result
 * line (its logs and the error) up to its own `(fail)` line, at most `maxLines` of them.
 */
export function failureReports(text: string, maxLines = 60): string[] {
  const lines = text.replace(/\x1b\[[0-9;]*m/g, "").split("\n");
  const reports: string[] = [];
  let start = 0;
  for (const [i, line] of lines.entries()) {
    // bun's closing list names the failures again, without their lines.
    if (/^\d+ tests? failed:$/.test(line)) break;
    const result = /^\((pass|fail|skip|todo)\)/.exec(line);
    if (result === null && !/^\S.*\.test\.ts:$/.test(line)) continue;
    if (result?.[1] === "fail") reports.push(lines.slice(Math.max(start, i + 1 - maxLines), i + 1).join("\n"));
    start = i + 1;
  }
  return reports;
}
