#!/usr/bin/env bun
/**
 * Local cluster CLI: per shard a Redis, a PostgreSQL primary and its streaming replica, on
 * ports basePort+10*i (+0 redis, +1 primary, +2 replica), data under .cluster/<name>/.
 * A new cluster puts each shard's PostgreSQL pair under pg_auto_failover (one monitor on
 * basePort+9): automatic failover and synchronous replication; `--no-ha` makes plain streaming
 * pairs instead (promotion by hand). `up --shards N` above the saved count and `add-shard` grow a cluster; the new shards start
 * empty until `bun run reshard add` moves links onto them. Shrinking is refused (drain instead).
 *
 *   bun scripts/cluster.ts up|add-shard|down|status|env [--shards N] [--base-port P] [--name NAME] [--wipe] [--fast] [--no-ha]
 */

// Importing this file (`import { clusterUp } from "./cluster"`) gives the library API;
// only running it as a script executes the CLI.
export * from "./cluster/index";

import { clusterAddShard, clusterDir, clusterDown, clusterUp, DEFAULTS, envLines, formatStatus, hasState, readState, REPO_ROOT, type ClusterState } from "./cluster/index";
import { checkLayout } from "./cluster/options";
import { engineNodes } from "./cluster/ha-engine";
import { planState } from "./cluster/plan";
import { parseCommand, runCli } from "./cluster/run-cli";

const USAGE = "usage: bun scripts/cluster.ts up|add-shard|down|status|env [--shards N] [--base-port P] [--name NAME] [--wipe] [--fast] [--no-ha]";

async function main(): Promise<number> {
  const line = parseCommand(USAGE, {
    shards: { type: "string" },
    "base-port": { type: "string" },
    name: { type: "string" },
    wipe: { type: "boolean" },
    fast: { type: "boolean" },
    ha: { type: "boolean" },
  });
  if ("exitCode" in line) return line.exitCode;
  const { command, values } = line;
  const name = values.name ?? DEFAULTS.name;
  const shards = values.shards === undefined ? undefined : Number(values.shards);
  const basePort = values["base-port"] === undefined ? undefined : Number(values["base-port"]);
  const log = (line: string) => console.log(line);
  const dir = clusterDir(REPO_ROOT, name);

  switch (command) {
    case "up": {
      const t0 = performance.now();
      const state = await clusterUp({ name, shards, basePort, fast: values.fast, ha: values.ha, log });
      await printLayout(state);
      console.log(`\ncluster ${name} up in ${seconds(t0)}; env written to ${dir}/env`);
      return 0;
    }
    case "add-shard": {
      const t0 = performance.now();
      const state = await clusterAddShard({ name, log });
      await printLayout(state);
      console.log(`\nshard ${state.shards - 1} added to cluster ${name} in ${seconds(t0)}; env written to ${dir}/env`);
      // The instances only route to the shard once they run with the new env and the ring includes it.
      console.log("next: restart the instances with the new env one at a time behind HAProxy (rolling), then run `bun run reshard add`");
      return 0;
    }
    case "down": {
      const t0 = performance.now();
      const { stopped } = await clusterDown({ name, wipe: values.wipe, log });
      console.log(`cluster ${name} down: ${stopped} node(s) stopped${values.wipe ? ", data wiped" : ""} in ${seconds(t0)}`);
      return 0;
    }
    case "status": {
      if (!hasState(dir)) {
        console.log(`cluster ${name}: not created (${dir})`);
        return 1;
      }
      const state = readState(dir);
      console.log(formatStatus(state, state.engine ? await engineNodes(state).catch(() => null) : undefined));
      return 0;
    }
    case "env": {
      // Works before `up` too: the URLs follow from the layout alone.
      const layout = hasState(dir)
        ? readState(dir)
        : (() => {
            const s = shards ?? DEFAULTS.shards;
            const p = basePort ?? DEFAULTS.basePort;
            checkLayout(s, p);
            return planState({ name, dir, shards: s, basePort: p, fast: false, binaries: { pgBin: "", redisServer: "" }, ha: values.ha ?? DEFAULTS.ha });
          })();
      console.log(envLines(layout).join("\n"));
      return 0;
    }
    default:
      console.error(`unknown command "${command}"\n${USAGE}`);
      return 2;
  }
}

async function printLayout(state: ClusterState): Promise<void> {
  console.log(`\n${formatStatus(state, state.engine ? await engineNodes(state).catch(() => null) : undefined)}\n`);
  console.log(envLines(state).join("\n"));
}

const seconds = (t0: number) => `${((performance.now() - t0) / 1000).toFixed(1)}s`;

if (import.meta.main) runCli("cluster", main);
