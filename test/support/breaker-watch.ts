import type { ShardSet } from "../../src/storage/shard-set";

/**
 * Records every breaker state change of every node of a shard set from now on: the fuzz and
 * bad-input suites assert that no client input moves one.
 *
 * @example
 *   const watch = watchBreakers(sys.composed.shards);
 *   // ... requests ...
 *   expect(watch.changes()).toEqual([]);
 *   watch.stop();
 */
export function watchBreakers(shards: ShardSet): { changes(): string[]; stop(): void } {
  const seen: string[] = [];
  const nodes = shards.shards.flatMap((s) => [s.redis, s.primary, s.replica]);
  const unsubscribe = nodes.map((node) => node.policy.onStateChange((state) => seen.push(`${node.name} → ${state}`)));
  return {
    changes: () => [...seen],
    stop: () => unsubscribe.forEach((off) => off()),
  };
}
