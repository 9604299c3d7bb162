#!/usr/bin/env bun
/**
 * Local cluster CLI: per shard a Redis, a PostgreSQL primary and its streaming replica, on
 * ports basePort+10*i (+0 redis, +1 primary, +2 replica), data under .cluster/<name>/.
 *
 *   bun scripts/cluster.ts up|down|status|env [--shards N] [--base-port P] [--name NAME] [--wipe] [--fast]
 */

// Importing this file (`import { clusterUp } from "./cluster"`) gives the library API;
// only running it as a script executes the CLI.
export * from "./cluster/index";

import { clusterDir, clusterDown, clusterUp, DEFAULTS, envLines, formatStatus, hasState, readState, REPO_ROOT } from "./cluster/index";
import { checkLayout } from "./cluster/options";
import { planState } from "./cluster/plan";
import { parseCommand, runCli } from "./cluster/run-cli";

const USAGE = "usage: bun scripts/cluster.ts up|down|status|env [--shards N] [--base-port P] [--name NAME] [--wipe] [--fast]";

async function main(): Promise<number> {
  const line = parseCommand(USAGE, {
    shards: { type: "string" },
    "base-port": { type: "string" },
    name: { type: "string" },
    wipe: { type: "boolean" },
    fast: { type: "boolean" },
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
      const state = await clusterUp({ name, shards, basePort, fast: values.fast, log });
      console.log(`\n${formatStatus(state)}\n`);
      console.log(envLines(state).join("\n"));
      console.log(`\ncluster ${name} up in ${((performance.now() - t0) / 1000).toFixed(1)}s; env written to ${dir}/env`);
      return 0;
    }
    case "down": {
      const t0 = performance.now();
      const { stopped } = await clusterDown({ name, wipe: values.wipe, log });
      console.log(`cluster ${name} down: ${stopped} node(s) stopped${values.wipe ? ", data wiped" : ""} in ${((performance.now() - t0) / 1000).toFixed(1)}s`);
      return 0;
    }
    case "status": {
      if (!hasState(dir)) {
        console.log(`cluster ${name}: not created (${dir})`);
        return 1;
      }
      console.log(formatStatus(readState(dir)));
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
            return planState({ name, dir, shards: s, basePort: p, fast: false, binaries: { pgBin: "", redisServer: "" } });
          })();
      console.log(envLines(layout).join("\n"));
      return 0;
    }
    default:
      console.error(`unknown command "${command}"\n${USAGE}`);
      return 2;
  }
}

if (import.meta.main) runCli("cluster", main);
