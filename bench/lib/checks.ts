/**
 * Thresholds (pass/fail: correctness, and latency bounds outside smoke) and targets (reported,
 * never failing the run: the throughput ratios and the p99 target of the issue).
 */
export interface Check {
  scenario: string;
  name: string;
  ok: boolean;
  value: number | string | null;
  limit: string;
}

export interface Target {
  scenario: string;
  name: string;
  value: number | null;
  target: string;
  met: boolean | null;
}

export class Checks {
  readonly checks: Check[] = [];
  readonly targets: Target[] = [];

  constructor(private readonly scenario: string) {}

  /** `ok` decides; value and limit are for the report. */
  check(name: string, ok: boolean, value: number | string | null, limit: string): boolean {
    this.checks.push({ scenario: this.scenario, name, ok, value: typeof value === "number" ? round4(value) : value, limit });
    return ok;
  }

  eq(name: string, value: number, expected: number): boolean {
    return this.check(name, value === expected, value, `== ${expected}`);
  }

  atLeast(name: string, value: number | null, min: number): boolean {
    return this.check(name, value !== null && value >= min, value, `>= ${min}`);
  }

  atMost(name: string, value: number | null, max: number): boolean {
    return this.check(name, value !== null && value <= max, value, `<= ${max}`);
  }

  target(name: string, value: number | null, op: ">=" | "<" | "==", bound: number): void {
    const met = value === null || !Number.isFinite(value) ? null : op === ">=" ? value >= bound : op === "<" ? value < bound : value === bound;
    this.targets.push({ scenario: this.scenario, name, value: value === null ? null : round4(value), target: `${op} ${bound}`, met });
  }

  get failed(): Check[] {
    return this.checks.filter((c) => !c.ok);
  }
}

function round4(x: number): number {
  return Number.isFinite(x) ? Math.round(x * 10_000) / 10_000 : x;
}
