/**
 * The README and docs/*.md link only to files that exist: every relative markdown link
 * `[text](target)` (not http, https or mailto) names a file or folder of the repository, and a
 * `#anchor` on it names a heading of that markdown file by its GitHub slug. Links inside fenced
 * code blocks are not links and are skipped.
 */
import { expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const ROOT = join(import.meta.dir, "../..");

function markdownFiles(): string[] {
  const docs = join(ROOT, "docs");
  const inDocs = existsSync(docs) ? readdirSync(docs).filter((f) => f.endsWith(".md")).map((f) => join(docs, f)) : [];
  return [join(ROOT, "README.md"), ...inDocs.sort()];
}

/** The text outside fenced code blocks (``` or ~~~), with fenced lines blanked so line numbers stay. */
function withoutFences(text: string): string {
  let fence: string | null = null;
  return text
    .split("\n")
    .map((line) => {
      const open = /^\s*(`{3,}|~{3,})/.exec(line);
      if (fence === null) {
        if (open) {
          fence = open[1]!;
          return "";
        }
        return line;
      }
      if (open && open[1]![0] === fence[0] && open[1]!.length >= fence.length && line.trim() === open[1]) fence = null;
      return "";
    })
    .join("\n");
}

/** GitHub's heading anchor: lowercase, punctuation other than '-' and '_' dropped, each space a '-'. */
function githubSlug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\p{M} _-]/gu, "")
    .replace(/ /g, "-");
}

function headingSlugs(file: string): Set<string> {
  const slugs = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of withoutFences(readFileSync(file, "utf8")).split("\n")) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = githubSlug(m[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    slugs.add(n === 0 ? base : `${base}-${n}`);
  }
  return slugs;
}

function brokenLinks(): string[] {
  const broken: string[] = [];
  for (const file of markdownFiles()) {
    const text = withoutFences(readFileSync(file, "utf8"));
    const name = relative(ROOT, file);
    // [text](target) and ![alt](target); inline code spans are not links.
    const prose = text.replace(/`[^`\n]*`/g, (s) => " ".repeat(s.length));
    for (const m of prose.matchAll(/\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      const target = m[1]!;
      if (/^(https?:|mailto:)/i.test(target)) continue;
      const line = prose.slice(0, m.index).split("\n").length;
      const where = `${name}:${line}: ${target}`;
      const hash = target.indexOf("#");
      const pathPart = decodeURIComponent(hash === -1 ? target : target.slice(0, hash));
      const anchor = hash === -1 ? null : decodeURIComponent(target.slice(hash + 1));
      const resolved = pathPart === "" ? file : resolve(dirname(file), pathPart);
      if (!resolved.startsWith(ROOT) || !existsSync(resolved)) {
        broken.push(`${where} (no such file)`);
        continue;
      }
      if (anchor === null) continue;
      if (!resolved.endsWith(".md") || statSync(resolved).isDirectory()) {
        broken.push(`${where} (an anchor into a file that is not markdown)`);
        continue;
      }
      if (!headingSlugs(resolved).has(anchor)) broken.push(`${where} (no heading with the slug "${anchor}" in ${relative(ROOT, resolved)})`);
    }
  }
  return broken;
}

test("githubSlug follows GitHub's anchor rule", () => {
  expect(githubSlug("Security: who can see what")).toBe("security-who-can-see-what");
  expect(githubSlug("Scaling out (and in)")).toBe("scaling-out-and-in");
  expect(githubSlug("`GET /{short_code}` (and `HEAD`)")).toBe("get-short_code-and-head");
  expect(githubSlug("Input: never a 5xx")).toBe("input-never-a-5xx");
});

test("every relative link in README.md and docs/*.md resolves, anchors included", () => {
  expect(markdownFiles().length).toBeGreaterThan(1);
  expect(brokenLinks()).toEqual([]);
});
