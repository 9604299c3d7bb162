/** Programmatic API of the local cluster (see scripts/cluster.ts for the CLI). */
export { clusterUp, clusterAddShard } from "./up";
export { clusterDown } from "./down";
export { readState, findNode, hasState, type ClusterState, type NodeState } from "./state";
export { stopNode, startNode, pauseNode, resumeNode, nodeAlive, nodePaused, livePid, type StopMode } from "./node-control";
export { clusterEnvVars, envLines } from "./env-file";
export { clusterStatus, formatStatus } from "./status";
export { currentPrimary, engineEvents, engineNodes, waitForStates, keeperName, monitorUrl, type EngineNode } from "./ha-engine";
export { clusterDir, nodePort, DEFAULTS, REPO_ROOT, type ClusterOptions, type Role } from "./options";
export { logTail, portFree } from "./proc";
export { clusterUpOnFreePorts } from "./free-range";
