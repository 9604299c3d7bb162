import { describe, expect, test } from "bun:test";
import { InfraError, StatementError } from "../../src/errors";
import { nodeFault, waitOutNodeFaults } from "../../src/storage/node-fault-wait";

const refused = () => Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:7001"), { code: "ECONNREFUSED" });

describe("waitOutNodeFaults", () => {
  test("a node fault pauses with one line per distinct fault, and the step runs again until it gets through", async () => {
    const faults = [new InfraError("primary-0", "timed out after 500 ms", true), new InfraError("primary-0", "timed out after 500 ms", true), refused()];
    const lines: string[] = [];
    let resumed = 0;
    const result = await waitOutNodeFaults(
      async () => {
        const fault = faults.shift();
        if (fault) throw fault;
        return "done";
      },
      { log: (l) => lines.push(l), pauseMs: 1, resumed: async () => void resumed++ },
    );
    expect(result).toBe("done");
    expect(lines).toEqual(["waiting for primary-0: timed out after 500 ms", "waiting for storage: connect ECONNREFUSED 127.0.0.1:7001", "the node answers again: continuing"]);
    expect(resumed).toBe(1);
  });

  test("an error that is not a node's ends the wait at once", async () => {
    let calls = 0;
    const bad = new StatementError("primary-0", "value too long", "22001");
    await expect(
      waitOutNodeFaults(
        async () => {
          calls++;
          throw bad;
        },
        { log: () => {}, pauseMs: 1 },
      ),
    ).rejects.toBe(bad);
    expect(calls).toBe(1);
  });

  test("a step whose answer was lost but which took effect is not run again", async () => {
    let runs = 0;
    const result = await waitOutNodeFaults(
      async () => {
        runs++;
        throw new InfraError("primary-0", "connection closed", true);
      },
      { log: () => {}, pauseMs: 1, landed: async () => "v7" },
    );
    expect(result).toBe("v7");
    expect(runs).toBe(1);
  });

  test("gives up after giveUpAfterMs with the node's own error, and stops when check throws", async () => {
    const fault = new InfraError("primary-0", "circuit open; node skipped", true);
    await expect(waitOutNodeFaults(async () => Promise.reject(fault), { log: () => {}, pauseMs: 5, giveUpAfterMs: 20 })).rejects.toBe(fault);
    let checks = 0;
    const stopped = new Error("stopped");
    await expect(
      waitOutNodeFaults(async () => Promise.reject(fault), {
        log: () => {},
        pauseMs: 1,
        check: () => {
          if (++checks > 3) throw stopped;
        },
      }),
    ).rejects.toBe(stopped);
  });

  test("nodeFault names the node's failures only", () => {
    expect(nodeFault(new InfraError("replica-1", "timed out after 5 ms", true))).toBe("replica-1: timed out after 5 ms");
    expect(nodeFault(Object.assign(new Error("cannot execute INSERT in a read-only transaction"), { code: "25006" }))).toBe("storage: cannot execute INSERT in a read-only transaction");
    expect(nodeFault(Object.assign(new Error("duplicate key"), { code: "23505" }))).toBeNull();
    expect(nodeFault("a string")).toBeNull();
  });
});
