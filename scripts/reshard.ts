#!/usr/bin/env bun
/**
 * Online re-sharding (`bun run reshard …`): moves links between shards while the cluster serves.
 *
 *   bun run reshard add                 every configured shard not in the ring joins it
 *   bun run reshard drain <shard>       everything on <shard> moves to the others
 *   bun run reshard resume              finish a migration that was stopped or killed
 *   bun run reshard abort               before the switch: go back to the old ring, nothing lost
 *   bun run reshard status              the ring, its phase, each instance's version, progress
 *
 * Reads the same env as the server (DATABASE_NODES, REDIS_NODES, ...). Without them it uses the
 * local cluster (`--cluster NAME`, default dev). Ctrl-C stops after the current batch; running
 * the command again resumes from the saved checkpoints.
 */
import { parseConfig } from "../src/config";
import { composeMover } from "../src/composition/mover";
import { survivingNodeFaults } from "../src/lifecycle/library-races";
import type { ReshardCommand } from "../src/topology/mover/coordinator";
import { MoverStopped } from "../src/topology/mover/mover-context";
import { envWithLocalCluster } from "./cluster/local-env";
import { parseCommand, runCli } from "./cluster/run-cli";

const USAGE = `usage: bun run reshard add | drain <shard> | resume | abort | status
  [--batch ROWS (1000)] [--rate ROWS_PER_S (10000; 0 = no limit)] [--grace-ms MS (3000)] [--cluster NAME (dev)]`;

async function main(): Promise<number> {
  const line = parseCommand(USAGE, { batch: { type: "string" }, rate: { type: "string" }, "grace-ms": { type: "string" }, cluster: { type: "string" } }, 1);
  if ("exitCode" in line) return line.exitCode;
  const { command, args, values } = line;
  const number = (flag: string, raw: string | undefined, fallback: number, min: number) => {
    const n = raw === undefined ? fallback : Number(raw);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${flag} must be an integer >= ${min}, got ${raw}`);
    return n;
  };
  const batchSize = number("batch", values.batch, 1000, 1);
  const rate = number("rate", values.rate, 10_000, 0);
  const graceMs = number("grace-ms", values["grace-ms"], 3000, 0);
  const kind = commandOf(command, args);
  if (kind === null) {
    console.error(USAGE);
    return 2;
  }

  const fatal = survivingNodeFaults((message, error) => console.error(`reshard: ${message} (${error})`));
  process.on("uncaughtException", fatal);
  process.on("unhandledRejection", fatal);
  const parsed = parseConfig(envWithLocalCluster(values.cluster ?? "dev"));
  if (!parsed.ok) throw new Error(parsed.message);
  const stop = new AbortController();
  process.on("SIGINT", () => {
    console.error("\nstopping after the current batch (run the command again to resume)...");
    stop.abort();
  });
  const mover = await composeMover(parsed.config, { batchSize, rowsPerSecond: rate === 0 ? Infinity : rate, graceMs, signal: stop.signal, log: (l) => console.log(l) });
  try {
    if (kind.kind === "status") {
      console.log(JSON.stringify(await mover.status(), null, 2));
      return 0;
    }
    const t0 = performance.now();
    const result = await mover.coordinator.run(kind);
    console.log(`done in ${((performance.now() - t0) / 1000).toFixed(1)}s: ring v${result.state.version} stable on shards ${result.state.members.join(",")}`);
    return 0;
  } catch (error) {
    if (error instanceof MoverStopped) {
      console.error(error.message);
      return 130;
    }
    throw error;
  } finally {
    await mover.close();
  }
}

function commandOf(command: string, args: string[]): ReshardCommand | { kind: "status" } | null {
  if (command === "drain") {
    const shard = Number(args[0]);
    return args.length === 1 && Number.isInteger(shard) && shard >= 0 ? { kind: "drain", shard } : null;
  }
  if (args.length > 0) return null;
  if (command === "add" || command === "resume" || command === "abort" || command === "status") return { kind: command };
  return null;
}

if (import.meta.main) runCli("reshard", main);
