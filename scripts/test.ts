#!/usr/bin/env bun
/**
 * `npm test`: boots an ephemeral --fast cluster (3 shards, free ports, name test-<pid>), runs
 * `bun test` against it with DATABASE_NODES, REDIS_NODES and SHORTEN_CLUSTER_DIR set, always
 * tears the cluster down (wiping it), and prints `N passed, N failed` as the very last line.
 * Extra arguments go to bun test:  npm test -- test/integration
 */
import { failureReports, parseSummary } from "./test-report";
import { clusterDir, clusterDown, clusterEnvVars, clusterUpOnFreePorts, nodePort, readState, REPO_ROOT } from "./cluster/index";

const SHARDS = 3;
const NAME = `test-${process.pid}`;
const FIRST_BASE = 17000;
const SLOTS = 100; // base ports 17000 .. 26900

let interrupted: NodeJS.Signals | null = null;
let child: ReturnType<typeof Bun.spawn> | null = null;
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  // Handled so teardown always runs; the child (same process group on Ctrl-C) is told too.
  process.on(sig, () => {
    if (interrupted) return;
    interrupted = sig;
    console.error(`\n${sig}: stopping tests and tearing the cluster down...`);
    child?.kill(sig);
  });
}

async function main(): Promise<{ passed: number; failed: number; ok: boolean }> {
  const t0 = performance.now();
  const basePort = await clusterUpOnFreePorts({ name: NAME, shards: SHARDS, firstBase: FIRST_BASE, slots: SLOTS, stopped: () => interrupted !== null });
  console.error(`test cluster ${NAME}: ${SHARDS} shards on 127.0.0.1:${basePort}-${nodePort(basePort, SHARDS - 1, "replica")}, up in ${((performance.now() - t0) / 1000).toFixed(1)}s`);
  if (interrupted) return { passed: 0, failed: 0, ok: false };
  return runBunTest();
}

async function runBunTest(): Promise<{ passed: number; failed: number; ok: boolean }> {
  const state = readState(clusterDir(REPO_ROOT, NAME));
  const env: Record<string, string | undefined> = { ...process.env, ...clusterEnvVars(state), SHORTEN_CLUSTER_DIR: state.dir };
  if (process.stderr.isTTY && !env.NO_COLOR) env.FORCE_COLOR = "1"; // output is piped, keep the colours a terminal would get
  child = Bun.spawn([process.execPath, "test", ...Bun.argv.slice(2)], { cwd: REPO_ROOT, env, stdin: "inherit", stdout: "pipe", stderr: "pipe" });
  const output: string[] = [];
  await Promise.all([tee(child.stdout as ReadableStream<Uint8Array>, process.stdout, output), tee(child.stderr as ReadableStream<Uint8Array>, process.stderr, output)]);
  const code = await child.exited;
  const text = output.join("");
  const { passed, failed } = parseSummary(text);
  const reports = failureReports(text);
  // A CI log is often read from its tail only, where bun test lists failures by name alone.
  if (reports.length > 0) console.error(`\nfailures, with what they printed:\n\n${reports.join("\n\n")}\n`);
  return { passed, failed, ok: code === 0 && failed === 0 };
}

/** Copies a child stream to ours as it arrives and keeps a copy for the summary. */
async function tee(stream: ReadableStream<Uint8Array>, out: NodeJS.WriteStream, sink: string[]): Promise<void> {
  const decoder = new TextDecoder();
  for await (const chunk of stream) {
    out.write(chunk);
    sink.push(decoder.decode(chunk, { stream: true }));
  }
}

let result = { passed: 0, failed: 0, ok: false };
try {
  result = await main();
} catch (e) {
  console.error(`npm test: ${(e as Error).message}`);
} finally {
  try {
    await clusterDown({ name: NAME, wipe: true });
  } catch (e) {
    result.ok = false;
    console.error(`npm test: cluster teardown failed: ${(e as Error).message}`);
  }
}
console.log(`${result.passed} passed, ${result.failed} failed`);
process.exit(interrupted ? 130 : result.ok ? 0 : 1);
