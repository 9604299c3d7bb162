import { mkdirSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import { applyMigrations } from "../../src/storage/migrate";
import { findBinaries } from "./binaries";
import { pgReachableDir } from "./exec";
import { writeEnvFile } from "./env-file";
import { livePid, startNodeRecord, startSpec } from "./node-control";
import { checkLayout, clusterDir, DEFAULTS, REPO_ROOT, type ClusterOptions } from "./options";
import { planShards, planState } from "./plan";
import { ensureMonitor, prepareNewShards, upHaShard } from "./ha-up";
import { ensureNetwork } from "./netns";
import { cloneReplica, ensureDatabase, initPrimary, isInitialised } from "./postgres-node";
import { portFree } from "./proc";
import { findNode, hasState, readState, writeState, type ClusterState, type NodeState } from "./state";

/**
 * Brings the cluster to "every node running", shards in parallel. Idempotent: running nodes
 * are left alone, stopped ones restarted on their data, missing ones created (replicas from
 * their primary with pg_basebackup). Migrations are applied on every primary each time (a
 * no-op when current). State is saved after every node, so `down` can clean up a failed `up`.
 * More shards than saved grows the cluster (the new ones start empty); fewer is refused.
 *
 * @example const state = await clusterUp({ name: "test-1", basePort: 17000, fast: true });
 */
export async function clusterUp(opts: ClusterOptions = {}): Promise<ClusterState> {
  const root = opts.root ?? REPO_ROOT;
  const name = opts.name ?? DEFAULTS.name;
  const dir = clusterDir(root, name);
  const log = opts.log ?? (() => {});
  const saved = hasState(dir) ? readState(dir) : null;
  const shards = opts.shards ?? saved?.shards ?? DEFAULTS.shards;
  const basePort = opts.basePort ?? saved?.basePort ?? DEFAULTS.basePort;
  checkLayout(shards, basePort);
  if (saved) checkSavedLayout(saved, shards, basePort);
  if (saved && opts.fast !== undefined && opts.fast !== saved.fast) log(`note: keeping fast=${saved.fast} of the existing nodes`);
  if (saved && opts.ha !== undefined && opts.ha !== (saved.engine !== undefined)) log(`note: keeping the existing nodes ${saved.engine ? "under" : "without"} the HA engine; \`down --wipe\` and \`up\` to change it`);

  mkdirSync(dir, { recursive: true });
  const binaries = findBinaries();
  const state = saved ? grow(saved, shards, log) : planState({ name, dir, nodesDir: await pgReachableDir(dir, name), shards, basePort, fast: opts.fast ?? false, binaries, ha: opts.ha ?? DEFAULTS.ha, netnsShards: opts.netnsShards });
  state.binaries = binaries;
  writeState(state);
  opts.onPlanned?.(state);

  const migrationsDir = join(root, "migrations");
  await ensureNetwork(state);
  if (state.engine) await Promise.all([ensureMonitor(state, log), prepareNewShards(state)]);
  let openStandbys!: () => void;
  const standbysMayStart = new Promise<void>((resolve) => (openStandbys = resolve));
  if (!opts.onWritable) openStandbys();
  const shardsUp = Array.from({ length: shards }, (_, i) => {
    const schema = opts.migrate ?? true ? migrationsDir : null;
    if (state.engine) return upEngineShard(state, i, schema, log, standbysMayStart);
    const done = upShard(state, i, schema, log);
    return { writable: done, done };
  });
  if (opts.onWritable) {
    let failedEarly = false;
    for (const { done } of shardsUp) done.catch(() => (failedEarly = true));
    await Promise.allSettled(shardsUp.map((s) => s.writable));
    if (!failedEarly) {
      writeEnvFile(state);
      await Promise.resolve(opts.onWritable(state)).catch((error: unknown) => log(`after the primaries took writes: ${(error as Error).message}`));
    }
    openStandbys();
  }
  const results = await Promise.allSettled(shardsUp.map((s) => s.done));
  writeState(state);
  const failed = results.flatMap((r, i) => (r.status === "rejected" ? [`shard ${i}: ${(r.reason as Error)?.message ?? r.reason}`] : []));
  if (failed.length > 0) throw new Error(`cluster up failed:\n${failed.join("\n")}`);
  writeEnvFile(state);
  return state;
}

/**
 * Grows the saved cluster by one shard (new nodes, migrated, replica cloned; the existing ones
 * untouched) and resolves with its state. The app only uses the shard once its instances run
 * with the new env and `bun run reshard add` has moved links onto it.
 *
 * @example const state = await clusterAddShard({ name: "dev" }); clusterEnvVars(state).REDIS_NODES
 */
export async function clusterAddShard(opts: Pick<ClusterOptions, "root" | "log"> & { name: string }): Promise<ClusterState> {
  const dir = clusterDir(opts.root ?? REPO_ROOT, opts.name);
  if (!hasState(dir)) throw new Error(`cluster ${opts.name} not created; run up first`);
  return clusterUp({ ...opts, shards: readState(dir).shards + 1 });
}

/** Other ports would contradict the data dirs' config (port, a replica's primary_conninfo); fewer shards would strand links. */
function checkSavedLayout(saved: ClusterState, shards: number, basePort: number): void {
  const { name } = saved;
  if (saved.basePort !== basePort) {
    throw new Error(`cluster "${name}" exists at base port ${saved.basePort}; run \`down --wipe --name ${name}\` to move it`);
  }
  if (shards < saved.shards) {
    const dropped = shards === saved.shards - 1 ? `shard ${shards}` : `shards ${shards}-${saved.shards - 1}`;
    throw new Error(
      `cluster "${name}" has ${saved.shards} shards; --shards ${shards} would orphan the links on ${dropped}. ` +
        `\`up\` never removes shards: drain one online with \`bun run reshard drain <i>\`, then stop its processes`,
    );
  }
}

/** Appends the new shards' nodes; upShard then creates them like any missing node. */
function grow(state: ClusterState, shards: number, log: (l: string) => void): ClusterState {
  if (shards === state.shards) return state;
  log(`growing cluster ${state.name} from ${state.shards} to ${shards} shards`);
  state.nodes.push(...planShards(state.nodesDir ?? state.dir, state.basePort, state.shards, shards, state.engine !== undefined));
  state.shards = shards;
  return state;
}

async function upShard(state: ClusterState, shard: number, migrationsDir: string | null, log: (l: string) => void): Promise<void> {
  const redis = findNode(state, shard, "redis");
  const primary = findNode(state, shard, "primary");
  const replica = findNode(state, shard, "replica");
  const results = await Promise.allSettled([
    ensureRunning(state, redis, log),
    (async () => {
      await ensureRunning(state, primary, log, () => initPrimary(state.binaries.pgBin, primary, state.fast));
      await ensureDatabase(primary.port, "shorten");
      const applied = migrationsDir ? await migrate(primary.url, migrationsDir) : [];
      if (applied.length > 0) log(`shard ${shard} primary: applied ${applied.join(", ")}`);
      // Cloned after the schema exists, so the replica starts with it.
      await ensureRunning(state, replica, log, () => cloneReplica(state.binaries.pgBin, primary, replica, state.fast));
    })(),
  ]);
  // allSettled: a failing branch must not leave the other still starting servers after we return.
  const failed = results.find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
}

/** A shard whose PostgreSQL pair pg_auto_failover manages: its Redis as usual, the pair through the engine. */
function upEngineShard(state: ClusterState, shard: number, migrationsDir: string | null, log: (l: string) => void, standbyMayStart: Promise<void>): { writable: Promise<unknown>; done: Promise<void> } {
  const redis = ensureRunning(state, findNode(state, shard, "redis"), log);
  const pair = upHaShard(state, shard, migrationsDir ? (url) => migrate(url, migrationsDir) : null, log, standbyMayStart);
  const done = Promise.allSettled([redis, pair.done]).then((results) => {
    const failed = results.find((r) => r.status === "rejected");
    if (failed) throw failed.reason;
  });
  return { writable: Promise.allSettled([redis, pair.writable]), done };
}

async function ensureRunning(state: ClusterState, node: NodeState, log: (l: string) => void, create?: () => Promise<void>): Promise<void> {
  const label = `shard ${node.shard} ${node.role} :${node.port}`;
  node.start ??= startSpec(state, node);
  const pid = livePid(node);
  if (pid !== null) {
    node.pid = pid;
    log(`${label} already running (pid ${pid})`);
    return;
  }
  if (!(await portFree(node.port))) throw new Error(`${label}: port ${node.port} is in use by a process this cluster did not start`);
  if (create && !isInitialised(node)) {
    await create();
    log(`${label} created`);
  }
  await startNodeRecord(state, node);
  writeState(state);
  log(`${label} started (pid ${node.pid})`);
}

async function migrate(url: string, dir: string): Promise<string[]> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return await applyMigrations(sql, dir);
  } finally {
    await sql.end({ timeout: 5 });
  }
}
