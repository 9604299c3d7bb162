import { clusterDir, REPO_ROOT } from "./options";
import { clusterEnvVars } from "./env-file";
import { hasState, readState } from "./state";

/** The process env, with the local cluster's node lists when the env names no nodes (operator CLIs). */
export function envWithLocalCluster(name: string): Record<string, string | undefined> {
  if (process.env.DATABASE_NODES || process.env.DB_NODES) return process.env;
  const dir = clusterDir(REPO_ROOT, name);
  return hasState(dir) ? { ...process.env, ...clusterEnvVars(readState(dir)) } : process.env;
}
