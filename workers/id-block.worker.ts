import { generateBlock, planMoves, type Block, type IdWorkerTask, type MovePlan } from "../src/ids/id-block";

/**
 * piscina worker: Snowflake/Base62/ring work in bulk, off the request thread. A round trip costs
 * tens to hundreds of µs, so it is only ever asked for whole blocks (src/ids/id-source.ts).
 * Stateless: the Snowflake state arrives with each task and leaves with its block.
 */
export default function run(task: IdWorkerTask): Block | MovePlan {
  switch (task.kind) {
    case "block": {
      const block = generateBlock(task);
      // After generating, so the fault looks like a thread dying mid-block with ids made but
      // never delivered: the lane must retry from its last delivered state.
      if (task.fault === "exit") process.exit(70);
      if (task.fault === "throw") throw new Error("id worker: injected fault");
      if (task.fault === "hang") for (;;);
      return block;
    }
    case "plan-moves":
      return planMoves(task);
  }
}
