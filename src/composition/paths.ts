import { fileURLToPath } from "node:url";

/** Files the composition hands to libraries by path: the id worker, the migrations, the dashboard. */
export const WORKER_FILE = fileURLToPath(new URL("../../workers/id-block.worker.ts", import.meta.url));
export const MIGRATIONS_DIR = fileURLToPath(new URL("../../migrations", import.meta.url));
export const PUBLIC_DIR = fileURLToPath(new URL("../../public", import.meta.url));
