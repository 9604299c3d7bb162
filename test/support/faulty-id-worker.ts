import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { IdWorkerTask } from "../../src/ids/id-block";
import run from "../../workers/id-block.worker";

/**
 * The real id worker, which a fault test can make fail: a file `lane-<workerId>` in
 * $SHORTEN_ID_FAULT_DIR holding `throw`, `exit` or `hang` makes that lane's next block fail that
 * way, once. After generating, so it looks like a thread dying mid-block with ids made but never
 * delivered: the lane must retry from its last delivered state.
 */
export default function faulty(task: IdWorkerTask) {
  const result = run(task);
  const dir = process.env.SHORTEN_ID_FAULT_DIR;
  const file = dir && task.kind === "block" ? join(dir, `lane-${task.workerId}`) : null;
  if (!file || !existsSync(file)) return result;
  const fault = readFileSync(file, "utf8");
  rmSync(file);
  if (fault === "exit") process.exit(70);
  if (fault === "throw") throw new Error("id worker: injected fault");
  if (fault === "hang") for (;;);
  return result;
}
