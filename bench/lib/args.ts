/**
 * Command line of `bun run bench <scenario> [--smoke] [--instances N] [--haproxy] [--duration S] [--rate R]`.
 * Every knob has a smoke value (seconds, low rates) and a full value; explicit flags win over both.
 */

export const SCENARIOS = ["redirects", "creates", "fallback", "events", "attribution"] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface BenchArgs {
  scenarios: Scenario[];
  /** "all" writes bench/results/summary.{md,json}. */
  all: boolean;
  smoke: boolean;
  instances: number;
  haproxy: boolean;
  /** Seconds per measured run. */
  duration: number;
  /** Fixed rate (req/s) for the open-loop run; default: half of the measured max. */
  rate: number | null;
  /** Measured runs per subject (floor/ours alternate), median reported. */
  rounds: number;
  /** Load tool: k6 when it is on PATH (unless --tool wrk), else wrk. */
  tool: "k6" | "wrk";
  /** wrk connections for throughput runs. */
  connections: number;
  hitRateFloor: number;
  /** p99 bound (ms) for the fixed-rate run; checked outside smoke only. */
  p99Ms: number;
  out: string | null;
}

const USAGE = `usage: bun run bench <redirects|creates|fallback|events|attribution|all> [--smoke] [--instances N] [--haproxy] [--duration S] [--rate R] [--rounds K] [--connections C] [--tool wrk|k6] [--out DIR]`;

export function parseArgs(argv: readonly string[], hasK6: boolean): BenchArgs {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith("--")) {
      positional.push(a);
      continue;
    }
    const [key, inline] = a.slice(2).split("=", 2) as [string, string | undefined];
    if (key === "smoke" || key === "haproxy" || key === "help") flags.set(key, true);
    else {
      const value = inline ?? argv[++i];
      if (value === undefined) throw new Error(`--${key} needs a value\n${USAGE}`);
      flags.set(key, value);
    }
  }
  if (flags.has("help") || positional.length !== 1) throw new Error(USAGE);
  const name = positional[0]!;
  const all = name === "all";
  if (!all && !(SCENARIOS as readonly string[]).includes(name)) throw new Error(`unknown scenario "${name}"\n${USAGE}`);
  const smoke = flags.get("smoke") === true;
  const num = (key: string, fallback: number, min: number, max: number): number => {
    const raw = flags.get(key);
    if (raw === undefined || raw === true) return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min || n > max) throw new Error(`--${key} must be a number in ${min}..${max}, got ${raw}`);
    return n;
  };
  const instances = Math.round(num("instances", 1, 1, 8));
  const toolFlag = flags.get("tool");
  if (toolFlag !== undefined && toolFlag !== "k6" && toolFlag !== "wrk") throw new Error(`--tool must be k6 or wrk`);
  const tool = toolFlag === "wrk" || toolFlag === "k6" ? toolFlag : hasK6 ? "k6" : "wrk";
  if (tool === "k6" && !hasK6) throw new Error("--tool k6: no k6 binary on PATH");
  const rateRaw = flags.get("rate");
  return {
    // Fallback kills nodes, so it runs last; events before creates keeps the redirect data warm.
    // Attribution (where the CPU goes) is diagnosis, not a check: full runs only.
    scenarios: all ? (smoke ? ["redirects", "events", "creates", "fallback"] : ["redirects", "events", "creates", "attribution", "fallback"]) : [name as Scenario],
    all,
    smoke,
    instances,
    // Several instances need something in front of them: HAProxy.
    haproxy: flags.get("haproxy") === true || instances > 1,
    // wrk takes whole seconds only.
    duration: Math.round(num("duration", smoke ? 2 : 8, 1, 600)),
    rate: rateRaw === undefined ? null : num("rate", 0, 1, 1_000_000),
    rounds: Math.round(num("rounds", smoke ? 1 : 3, 1, 9)),
    tool,
    connections: Math.round(num("connections", smoke ? 4 : 64, 1, 1000)),
    hitRateFloor: num("hit-rate-floor", 0.9, 0, 1),
    p99Ms: num("p99-ms", 50, 0.1, 60_000),
    out: typeof flags.get("out") === "string" ? (flags.get("out") as string) : null,
  };
}

/** `--name N` from a helper script's own argv (bench/lib/attribution.ts, profile.ts), else `fallback`. */
export function numberFlag(argv: readonly string[], name: string, fallback: number): number {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
}
