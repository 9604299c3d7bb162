import type { BenchArgs } from "./args";
import type { Check, Target } from "./checks";
import type { LoadTool } from "./load";
import type { SeededCode } from "./seed";
import type { Stack } from "./stack";

/** What every scenario gets from the runner. */
export interface Ctx {
  args: BenchArgs;
  stack: Stack;
  load: LoadTool;
  workDir: string;
  log: (line: string) => void;
  /** Data one scenario seeds and a later one may reuse (same run, same cluster). */
  shared: { redirectCodes?: SeededCode[]; codesFile?: string };
}

/** The result of one scenario: figures for the report, plus its checks and targets. */
export interface ScenarioReport {
  scenario: string;
  seconds: number;
  settings: Record<string, unknown>;
  /** Headline figures (the summary table quotes these). */
  summary: Record<string, number | string | null>;
  /** Every run, in the order they ran. */
  runs: Record<string, unknown>;
  checks: Check[];
  targets: Target[];
  notes: string[];
  /** Extra markdown printed after the notes (a table, say). */
  markdown?: string;
}

/** Instance base URLs (backend metrics are scraped per instance, even behind HAProxy). */
export function instanceUrls(ctx: Ctx): string[] {
  return ctx.stack.instances.map((s) => s.url);
}
