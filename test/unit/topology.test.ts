import { describe, expect, test } from "bun:test";
import { encodeBase62 } from "../../src/domain/base62";
import { abort, advance, beginMigration, PHASES, planAdd, planDrain, routingFor, stableState, TopologyError, type Routing, type TopologyState } from "../../src/domain/topology";

const codes = Array.from({ length: 20_000 }, (_, i) => encodeBase62(BigInt(i) * 104_729n + 7n));

/** Every state of an add from 3 to 4 shards, stable to stable. */
function walk(from: TopologyState, target: number[]): TopologyState[] {
  const states = [from, beginMigration(from, "add", target, "m-1")];
  while (states.at(-1)!.phase !== "stable") states.push(advance(states.at(-1)!));
  return states;
}

/** Where a read for `code` looks, in order. */
function readOrder(route: Routing, code: string): number[] {
  const first = route.read.shardFor(code);
  const second = route.fallback?.shardFor(code);
  return second === undefined || second === first ? [first] : [first, second];
}

describe("topology phases", () => {
  test("an add walks stable → prepare → dual → copy → verify → switch → cleanup → stable, one version each", () => {
    const states = walk(stableState([0, 1, 2]), [0, 1, 2, 3]);
    expect(states.map((s) => s.phase)).toEqual([...PHASES, "stable"]);
    expect(states.map((s) => s.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(states.at(-1)).toEqual(stableState([0, 1, 2, 3], 8));
  });

  test("writes move to the new ring at dual and reads drop the old ring at switch", () => {
    const states = walk(stableState([0, 1, 2]), [0, 1, 2, 3]);
    const summary = states.map((s) => {
      const r = routingFor(s);
      return [s.phase, r.write.members.length, r.read.members.length, r.fallback?.members.length ?? 0];
    });
    expect(summary).toEqual([
      ["stable", 3, 3, 0],
      ["prepare", 3, 3, 4],
      ["dual", 4, 4, 3],
      ["copy", 4, 4, 3],
      ["verify", 4, 4, 3],
      ["switch", 4, 4, 0],
      ["cleanup", 4, 4, 0],
      ["stable", 4, 4, 0],
    ]);
  });

  // The safety argument of the protocol: instances run at most two adjacent phases at once, so
  // whatever either of them writes must be found by the reads of both.
  test("for every pair of adjacent phases, each phase's reads reach where the other's writes go", () => {
    for (const [from, target] of [
      [[0, 1, 2], [0, 1, 2, 3]],
      [[0, 1, 2, 3], [0, 2, 3]],
    ] as const) {
      const states = walk(stableState(from), [...target]);
      // Only phases up to the switch: rows written under the old ring exist there until cleanup,
      // which starts only after every instance runs the new ring alone.
      for (let i = 0; i + 1 < states.length && states[i]!.phase !== "switch"; i++) {
        const a = routingFor(states[i]!);
        const b = routingFor(states[i + 1]!);
        for (const code of codes.slice(0, 3000)) {
          for (const [writer, reader] of [
            [a, b],
            [b, a],
          ] as const) {
            expect(readOrder(reader, code)).toContain(writer.write.shardFor(code));
          }
        }
      }
    }
  });

  test("abort before the switch: from prepare straight back; later, a reverse migration that copies back", () => {
    const states = walk(stableState([0, 1, 2]), [0, 1, 2, 3]);
    const [, prepare, dual, copy] = states;
    expect(abort(prepare!)).toEqual(stableState([0, 1, 2], prepare!.version + 1));
    const back = abort(copy!);
    expect(back).toMatchObject({ phase: "dual", members: [0, 1, 2, 3], target: [0, 1, 2], kind: "abort", migrationId: "m-1-abort", version: copy!.version + 1 });
    // The reverse dual reads the old ring first and still falls back to the new one.
    const route = routingFor(back);
    expect(route.write.members).toEqual([0, 1, 2]);
    expect(route.fallback!.members).toEqual([0, 1, 2, 3]);
    expect(abort(dual!).phase).toBe("dual");
    for (const late of states.filter((s) => s.phase === "switch" || s.phase === "cleanup")) expect(() => abort(late)).toThrow(TopologyError);
    expect(() => abort(stableState([0]))).toThrow("no migration to abort");
  });

  test("a migration cannot start while another runs, and stable cannot advance", () => {
    const prepare = beginMigration(stableState([0, 1]), "add", [0, 1, 2], "m-1");
    expect(() => beginMigration(prepare, "drain", [0], "m-2")).toThrow("in phase prepare");
    expect(() => advance(stableState([0]))).toThrow(TopologyError);
  });

  test("planAdd takes every configured shard the ring lacks; planDrain keeps shard 0 and the last shard", () => {
    expect(planAdd([0, 1, 2], 5)).toEqual([0, 1, 2, 3, 4]);
    expect(planAdd([0, 2], 3)).toEqual([0, 1, 2]);
    expect(() => planAdd([0, 1, 2], 3)).toThrow("already in the ring");
    expect(planDrain([0, 1, 2, 3], 1)).toEqual([0, 2, 3]);
    expect(() => planDrain([0, 1], 0)).toThrow("catalog");
    expect(() => planDrain([0, 1], 5)).toThrow("not in the ring");
    expect(() => planDrain([1], 1)).toThrow("last shard");
  });
});
