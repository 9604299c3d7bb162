import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * The k6 scripts cannot run here (no k6 binary), so what can be checked is checked: they
 * type-check against @types/k6, and they import only what a stock k6 provides (its own modules
 * and relative files), never an npm package.
 */
const ROOT = new URL("../../", import.meta.url).pathname;
const K6_DIR = join(ROOT, "bench/k6");
const STOCK = /^k6(\/(http|metrics|websockets|experimental\/websockets|options|execution|timers|data|crypto|encoding))?$/;

describe("bench/k6 scripts", () => {
  test("type-check with tsc against @types/k6 (strict)", () => {
    const tsc = Bun.spawnSync([join(ROOT, "node_modules/.bin/tsc"), "--noEmit", "-p", join(K6_DIR, "tsconfig.json")], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    const output = `${tsc.stdout.toString()}${tsc.stderr.toString()}`;
    expect(output).toBe("");
    expect(tsc.exitCode).toBe(0);
  }, 60_000);

  test("import only stock k6 modules and relative files", () => {
    const files = readdirSync(K6_DIR).filter((f) => f.endsWith(".ts"));
    expect(files).toEqual(expect.arrayContaining(["redirects.ts", "creates.ts", "fallback.ts", "events.ts"]));
    const bad: string[] = [];
    for (const file of files) {
      const text = readFileSync(join(K6_DIR, file), "utf8");
      for (const m of text.matchAll(/^\s*import\s+(?:type\s+)?[^'"]*?from\s+["']([^"']+)["']/gm)) {
        const spec = m[1]!;
        if (!STOCK.test(spec) && !spec.startsWith("./")) bad.push(`${file}: ${spec}`);
      }
    }
    expect(bad).toEqual([]);
  });

  test("each script declares options with thresholds and a handleSummary", () => {
    for (const file of ["redirects.ts", "creates.ts", "fallback.ts", "events.ts"]) {
      const text = readFileSync(join(K6_DIR, file), "utf8");
      expect(text).toContain("export const options");
      expect(text).toContain("thresholds:");
      expect(text).toContain("export function handleSummary");
    }
  });
});
