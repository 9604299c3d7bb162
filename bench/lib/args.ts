/**
 * Command line of `bun run bench <scenario> [--smoke] [--instances N] [--haproxy] [--duration S] [--rate R]`.
 * Every knob has a smoke value (seconds, low rates) and a full value; explicit flags win over both.
 */

export const SCENARIOS = ["redirects", "zipf", "creates", "fallback", "events", "attribution", "reshard"] as const;
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
  /** Links seeded straight into the shards: zipf (default 1,000,000; smoke 20,000), reshard (default 100,000; smoke 5,000). */
  links: number;
  /** zipf: the Zipf exponent s (default 1). */
  zipfS: number;
  /**
   * creates: where it runs. "durable": a cluster of its own with fsync on (the default outside
   * smoke; `bench creates` alone starts the main stack durable instead); "shared": the main
   * stack's --fast cluster (smoke default, to stay quick).
   */
  createsCluster: "durable" | "shared";
  /** Appended to the report file names and printed in them (e.g. an A/B variant). */
  tag: string | null;
  /** Max seconds to wait for a quiet box before each measured run (0 = off; default 60, smoke 0). */
  quietWaitS: number;
  /** reshard: the mover's --rate (scanned rows/s, 0 = unlimited) and --batch. */
  moverRate: number;
  moverBatch: number;
}

const USAGE = `usage: bun run bench <redirects|zipf|creates|fallback|events|attribution|reshard|all> [--smoke] [--instances N] [--haproxy] [--duration S] [--rate R] [--rounds K] [--connections C] [--tool wrk|k6] [--out DIR] [--tag NAME] [--quiet-wait S]
  zipf only: [--links N (1000000; smoke 20000)] [--zipf-s S (1)]
  creates only: [--creates-cluster durable|shared (durable; smoke shared)]
  reshard only: [--links N (100000; smoke 5000)] [--mover-rate ROWS_PER_S (10000, as the CLI; smoke 4000; 0 = unlimited)] [--mover-batch ROWS (1000)]`;

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
  // Re-sharding is shown the way it is deployed: several instances behind HAProxy, rolled one at
  // a time onto the new node lists (a single instance would be down while it restarts).
  const reshard = name === "reshard";
  const instances = Math.round(num("instances", reshard ? 3 : 1, reshard ? 2 : 1, 8));
  const toolFlag = flags.get("tool");
  if (toolFlag !== undefined && toolFlag !== "k6" && toolFlag !== "wrk") throw new Error(`--tool must be k6 or wrk`);
  const tool = toolFlag === "wrk" || toolFlag === "k6" ? toolFlag : hasK6 ? "k6" : "wrk";
  if (tool === "k6" && !hasK6) throw new Error("--tool k6: no k6 binary on PATH");
  const rateRaw = flags.get("rate");
  const createsCluster = flags.get("creates-cluster");
  if (createsCluster !== undefined && createsCluster !== "durable" && createsCluster !== "shared") throw new Error("--creates-cluster must be durable or shared");
  return {
    // Fallback kills nodes, so it runs last; events before creates keeps the redirect data warm.
    // Attribution (where the CPU goes) is diagnosis, not a check: full runs only.
    scenarios: all ? (smoke ? ["redirects", "events", "zipf", "creates", "fallback"] : ["redirects", "events", "zipf", "creates", "attribution", "fallback"]) : [name as Scenario],
    all,
    smoke,
    instances,
    // Several instances need something in front of them: HAProxy.
    haproxy: flags.get("haproxy") === true || instances > 1 || reshard,
    // wrk takes whole seconds only.
    duration: Math.round(num("duration", smoke ? 2 : 8, 1, 600)),
    rate: rateRaw === undefined ? null : num("rate", 0, 1, 1_000_000),
    rounds: Math.round(num("rounds", smoke ? 1 : 3, 1, 9)),
    tool,
    connections: Math.round(num("connections", smoke ? 4 : 64, 1, 1000)),
    hitRateFloor: num("hit-rate-floor", 0.9, 0, 1),
    p99Ms: num("p99-ms", 50, 0.1, 60_000),
    out: typeof flags.get("out") === "string" ? (flags.get("out") as string) : null,
    links: Math.round(num("links", reshard ? (smoke ? 5_000 : 100_000) : smoke ? 20_000 : 1_000_000, 100, 10_000_000)),
    zipfS: num("zipf-s", 1, 0.1, 5),
    createsCluster: createsCluster === "durable" || createsCluster === "shared" ? createsCluster : smoke ? "shared" : "durable",
    quietWaitS: num("quiet-wait", smoke ? 0 : 60, 0, 3600),
    tag: typeof flags.get("tag") === "string" ? (flags.get("tag") as string).replace(/[^A-Za-z0-9_.-]/g, "_") : null,
    moverRate: Math.round(num("mover-rate", smoke ? 4_000 : 10_000, 0, 10_000_000)),
    moverBatch: Math.round(num("mover-batch", 1_000, 1, 100_000)),
  };
}

/** `--name N` from a helper script's own argv (bench/lib/attribution.ts, profile.ts), else `fallback`. */
export function numberFlag(argv: readonly string[], name: string, fallback: number): number {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
}
