import { generateBlock, planMoves, type BlockRequest } from "../src/ids/id-block";

/**
 * piscina worker: Snowflake/Base62 generation and ring placement in bulk, off the request
 * thread. A round trip costs ~70-200 µs, so it is only ever asked for whole blocks.
 */
export type WorkerTask = ({ kind: "block" } & BlockRequest) | { kind: "plan-moves"; codes: string[]; fromShards: number; toShards: number };

export default function run(task: WorkerTask) {
  switch (task.kind) {
    case "block":
      return generateBlock(task);
    case "plan-moves":
      return planMoves(task);
  }
}
