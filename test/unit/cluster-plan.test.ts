import { describe, expect, test } from "bun:test";
import { pairUrl } from "../../scripts/cluster/ha-up";
import { monitorUrl } from "../../scripts/cluster/ha-engine";
import { planNetwork } from "../../scripts/cluster/netns";
import { planState } from "../../scripts/cluster/plan";
import { splitUrls, hostsOf } from "../../src/config";

const binaries = { pgBin: "/usr/lib/postgresql/15/bin", redisServer: "/usr/bin/redis-server" };
const plan = (basePort: number, netnsShards: number[] = [], shards = 3) => planState({ name: "t", dir: "/tmp/t", shards, basePort, fast: true, binaries, ha: true, netnsShards });

describe("the local cluster's plan", () => {
  test("namespaced shards: each PostgreSQL node has its own namespace, address and link, with interface names the kernel takes (<= 15)", () => {
    for (const basePort of [1024, 7000, 27_080, 65_000 - 300]) {
      const state = plan(basePort, [0, 2], 3);
      const namespaced = state.nodes.filter((n) => n.netns);
      expect(namespaced.map((n) => `${n.shard}${n.role}`)).toEqual(["0primary", "0replica", "2primary", "2replica"]);
      expect(new Set(namespaced.map((n) => n.netns!.host)).size).toBe(4);
      expect(new Set(namespaced.map((n) => n.netns!.netns)).size).toBe(4);
      for (const n of namespaced) {
        expect(n.netns!.link.length).toBeLessThanOrEqual(15);
        expect(n.url).toContain(`@${n.netns!.host}:${n.port}/`);
        expect(n.netns!.host.startsWith(state.network!.gateway.slice(0, state.network!.gateway.lastIndexOf(".") + 1))).toBe(true);
      }
      expect(state.network!.bridge.length).toBeLessThanOrEqual(15);
      // Redis and the other shards stay on loopback.
      for (const n of state.nodes.filter((n) => !n.netns)) expect(n.url).toContain("127.0.0.1");
    }
  });

  test("concurrent clusters' drills get different subnets", () => {
    const subnets = [27_080, 27_180, 27_280, 30_080].map((p) => planNetwork(p).subnet);
    expect(new Set(subnets).size).toBe(subnets.length);
  });

  test("a namespaced shard's env entries name both nodes by address, and its keepers reach the monitor over the bridge", () => {
    const state = plan(27_080, [1], 2);
    const writer = pairUrl(state, 1, "primary");
    expect(hostsOf(writer)!.hosts).toEqual(state.nodes.filter((n) => n.shard === 1 && n.role !== "redis").map((n) => `${n.netns!.host}:${n.port}`));
    expect(splitUrls(`${writer},${pairUrl(state, 1, "replica")}`)).toHaveLength(2);
    const keeper = state.nodes.find((n) => n.shard === 1 && n.role === "primary")!;
    expect(monitorUrl(state, keeper)).toContain(`@${state.network!.gateway}:`);
    expect(monitorUrl(state)).toContain("@127.0.0.1:");
  });

  test("namespaces need the engine: a plain cluster with them is refused", () => {
    expect(() => planState({ name: "t", dir: "/tmp/t", shards: 2, basePort: 7000, fast: true, binaries, netnsShards: [1] })).toThrow(/need the engine/);
  });
});
