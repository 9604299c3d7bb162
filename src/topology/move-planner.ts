import type { Piscina } from "piscina";
import type { IdWorkerTask, MovePlan, MovesRequest } from "../ids/id-block";

const PLAN_CHUNK = 65_536;

/**
 * Bulk ring work for re-sharding on the worker pool: which keys stored on a shard belong to
 * another shard under a ring. Chunked so other tasks (id blocks) interleave with a large plan
 * instead of queueing behind it.
 *
 * @example
 *   const plan = await planMovesOn(pool, { keys: codes, source: 1, to: [0, 1, 2, 3] });
 *   plan.index.forEach((i, k) => console.log(codes[i], "->", plan.to[k]));
 */
export async function planMovesOn(pool: Piscina, request: MovesRequest, vnodes?: number): Promise<MovePlan> {
  const chunks: Promise<MovePlan>[] = [];
  for (let start = 0; start < request.keys.length; start += PLAN_CHUNK) {
    const task: IdWorkerTask = { ...request, kind: "plan-moves", keys: request.keys.slice(start, start + PLAN_CHUNK), vnodes: request.vnodes ?? vnodes };
    chunks.push(pool.run(task));
  }
  return mergePlans(await Promise.all(chunks));
}

function mergePlans(plans: MovePlan[]): MovePlan {
  const total = plans.reduce((n, p) => n + p.index.length, 0);
  const merged: MovePlan = { index: new Uint32Array(total), to: new Uint16Array(total) };
  let at = 0;
  plans.forEach((plan, k) => {
    merged.index.set(plan.index.map((i) => i + k * PLAN_CHUNK), at);
    merged.to.set(plan.to, at);
    at += plan.index.length;
  });
  return merged;
}
