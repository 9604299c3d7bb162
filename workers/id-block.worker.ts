import { generateBlock, planMoves, type Block, type IdWorkerTask, type MovePlan } from "../src/ids/id-block";

/**
 * piscina worker: Snowflake/Base62/ring work in bulk, off the request thread. A round trip costs
 * tens to hundreds of µs, so it is only ever asked for whole blocks (src/ids/id-source.ts).
 * Stateless: the Snowflake state arrives with each task and leaves with its block.
 */
export default function run(task: IdWorkerTask): Block | MovePlan {
  switch (task.kind) {
    case "block":
      return generateBlock(task);
    case "plan-moves":
      return planMoves(task);
  }
}
