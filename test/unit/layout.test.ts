/**
 * The folder layout is the architecture, so it is checked like code: each top-level folder of
 * src/ imports only folders on lower floors, features under modules/ import each other one way,
 * no source file outgrows 300 lines, and the benchmarks share the harness, not the tests.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");

/** Floors, lowest first: a folder may import only folders on floors below its own. */
const FLOORS: Record<string, number> = {
  "config.ts": 0,
  "errors.ts": 0,
  domain: 0,
  observability: 1,
  storage: 2,
  ids: 2,
  topology: 3,
  events: 3,
  http: 3,
  lifecycle: 3,
  modules: 4,
  composition: 5,
  "main.ts": 6,
};

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : /\.(ts|js)$/.test(name) ? [path] : [];
  });
}

/** Relative imports of a file, as repository paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g)].map((m) => {
    const path = resolve(dirname(file), m[1]!);
    return relative(ROOT, /\.[jt]s$/.test(path) ? path : `${path}.ts`);
  });
}

const SRC = sources(join(ROOT, "src"));
const top = (path: string) => relative("src", path).split("/")[0]!;

describe("layout", () => {
  test("every top-level entry of src/ has a floor", () => {
    const entries = readdirSync(join(ROOT, "src"));
    expect(entries.filter((e) => !(e in FLOORS))).toEqual([]);
  });

  test("folders of src/ import only folders on lower floors (no two import each other)", () => {
    const upward: string[] = [];
    for (const file of SRC) {
      const from = top(relative(ROOT, file));
      for (const target of importsOf(file)) {
        if (!target.startsWith("src/")) continue;
        const to = top(target);
        if (to !== from && !(FLOORS[to]! < FLOORS[from]!)) upward.push(`${relative(ROOT, file)} -> ${target}`);
      }
    }
    expect(upward).toEqual([]);
  });

  test("features under modules/ import each other one way only", () => {
    const edges = new Set<string>();
    for (const file of SRC.filter((f) => relative(ROOT, f).startsWith("src/modules/"))) {
      const from = relative(ROOT, file).split("/")[2]!;
      for (const target of importsOf(file)) {
        const parts = target.split("/");
        if (parts[1] === "modules" && parts[2] !== from) edges.add(`${from} -> ${parts[2]}`);
      }
    }
    const both = [...edges].filter((edge) => edges.has(edge.split(" -> ").reverse().join(" -> ")));
    expect(both).toEqual([]);
  });

  test("no source file over 300 lines", () => {
    const long = SRC.map((file) => ({ file: relative(ROOT, file), lines: readFileSync(file, "utf8").split("\n").length })).filter((f) => f.lines > 300);
    expect(long).toEqual([]);
  });

  test("the benchmarks import nothing from test/", () => {
    const fromTests = sources(join(ROOT, "bench")).flatMap((file) => importsOf(file).filter((t) => t.startsWith("test/")).map((t) => `${relative(ROOT, file)} -> ${t}`));
    expect(fromTests).toEqual([]);
  });

  test("every runtime dependency is imported by what runs in production, and nothing there imports a devDependency", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
    const shipped = ["src", "workers", "scripts"].flatMap((dir) => sources(join(ROOT, dir)));
    const packages = new Set(shipped.flatMap((file) => [...readFileSync(file, "utf8").matchAll(/(?:from|import|resolve)\s*\(?\s*"((?:@[^/"]+\/)?[^./"][^/"]*)/g)].map((m) => m[1]!)));
    expect(Object.keys(pkg.dependencies).filter((d) => !packages.has(d))).toEqual([]);
    // `from "bun"` names the runtime's built-in module, not the npm package that installs it.
    expect(Object.keys(pkg.devDependencies).filter((d) => packages.has(d) && d !== "bun")).toEqual([]);
  });
});
