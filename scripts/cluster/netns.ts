import { run, runOk } from "./exec";
import type { ClusterState, NodeState } from "./state";

/**
 * Network namespaces for partition drills (root only): a shard's PostgreSQL nodes each in a
 * namespace of their own, with an address on a bridge whose host side (`.1`) is where the app,
 * the monitor and the tooling reach them from. Cutting a node's link is a partition: the app,
 * the monitor and its peer all lose it at once, while its processes keep running.
 */
export interface ClusterNetwork {
  bridge: string;
  /** The /24 the nodes' addresses come from, e.g. 10.213.7.0/24. */
  subnet: string;
  /** The bridge's own address: the monitor and the app as the namespaces see them. */
  gateway: string;
}

/** One /24 per base port (so that concurrent clusters' drills stay apart), names within IFNAMSIZ (15). */
export function planNetwork(basePort: number): ClusterNetwork {
  const third = Math.floor(basePort / 100) % 250;
  const second = 200 + (Math.floor(basePort / 25_000) % 50);
  return { bridge: `shbr${basePort}`, subnet: `10.${second}.${third}.0/24`, gateway: `10.${second}.${third}.1` };
}

/** A node's place on the cluster's bridge: the namespace's name and its address (`.2` and up). */
export function planNodeNetns(network: ClusterNetwork, basePort: number, shard: number, slot: number): { netns: string; host: string; link: string } {
  const prefix = network.gateway.slice(0, network.gateway.lastIndexOf("."));
  return { netns: `shorten-${basePort}-${shard}-${slot}`, host: `${prefix}.${2 + shard * 2 + slot}`, link: `shv${basePort}${shard}${slot}` };
}

/** Creates the bridge and every namespaced node's namespace, veth pair and address; what exists is kept. */
export async function ensureNetwork(state: ClusterState): Promise<void> {
  const network = state.network;
  if (!network) return;
  if ((await run(["ip", "link", "show", network.bridge])).code !== 0) {
    await runOk(["ip", "link", "add", network.bridge, "type", "bridge"]);
    await runOk(["ip", "addr", "add", `${network.gateway}/24`, "dev", network.bridge]);
  }
  await runOk(["ip", "link", "set", network.bridge, "up"]);
  for (const node of state.nodes.filter((n) => n.netns)) {
    const { netns, host } = node.netns!;
    if ((await run(["ip", "netns", "exec", netns, "true"])).code !== 0) await runOk(["ip", "netns", "add", netns]);
    if ((await run(["ip", "link", "show", node.netns!.link])).code !== 0) {
      await runOk(["ip", "link", "add", node.netns!.link, "type", "veth", "peer", "name", "eth0", "netns", netns]);
      await runOk(["ip", "link", "set", node.netns!.link, "master", network.bridge, "up"]);
      await runOk(["ip", "-n", netns, "addr", "add", `${host}/24`, "dev", "eth0"]);
    }
    await runOk(["ip", "-n", netns, "link", "set", "lo", "up"]);
    await runOk(["ip", "-n", netns, "link", "set", "eth0", "up"]);
  }
}

/** Removes what ensureNetwork made (the veth pairs go with their namespaces). */
export async function removeNetwork(state: ClusterState): Promise<void> {
  if (!state.network) return;
  for (const node of state.nodes.filter((n) => n.netns)) await run(["ip", "netns", "delete", node.netns!.netns]);
  await run(["ip", "link", "delete", state.network.bridge]);
}

/**
 * Cuts a namespaced node off the network (its link down: the app, the monitor and its peer lose
 * it at once, its processes run on), or heals it.
 */
export async function setPartitioned(node: NodeState, cut: boolean): Promise<void> {
  if (!node.netns) throw new Error(`shard ${node.shard} ${node.role} is not in a network namespace of its own`);
  await runOk(["ip", "-n", node.netns.netns, "link", "set", "eth0", cut ? "down" : "up"]);
}

/** argv run inside the node's namespace when it has one. */
export const inNetns = (node: NodeState, argv: string[]): string[] => (node.netns ? ["ip", "netns", "exec", node.netns.netns, ...argv] : argv);
