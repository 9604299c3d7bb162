/**
 * Running the real HAProxy locally: find the binary, validate a config with `haproxy -c`, and
 * read server states from the stats page. Shared by scripts/multi.ts and harness/haproxy.ts.
 */
import { existsSync } from "node:fs";
import { BACKEND, HEALTHZ_URI, STATS_URI } from "./haproxy-config";

/**
 * The haproxy binary: $HAPROXY_BIN, /usr/sbin/haproxy (Debian's package), or the PATH.
 *
 * @example const bin = haproxyBinary(); Bun.spawn([bin, "-c", "-f", cfg]);
 */
export function haproxyBinary(): string {
  const candidates = [process.env.HAPROXY_BIN, "/usr/sbin/haproxy", Bun.which("haproxy")];
  for (const c of candidates) if (c && existsSync(c)) return c;
  throw new Error("haproxy not found: install the Debian package `haproxy` (apt-get install haproxy) or set HAPROXY_BIN");
}

/** `haproxy -c -f file`; throws with HAProxy's own message when the config is invalid. */
export function checkHaproxyConfig(file: string): string {
  const result = Bun.spawnSync([haproxyBinary(), "-c", "-f", file], { stdout: "pipe", stderr: "pipe" });
  const output = `${result.stdout.toString()}${result.stderr.toString()}`;
  if (result.exitCode !== 0) throw new Error(`haproxy -c -f ${file} failed (exit ${result.exitCode}):\n${output}`);
  return output;
}

/** Rows of the app backend from the CSV stats page (servers and the BACKEND row), column name → value. */
export async function backendStats(statsPort: number, timeoutMs = 1000): Promise<Array<Record<string, string>>> {
  const res = await fetch(`http://127.0.0.1:${statsPort}${STATS_URI};csv`, { signal: AbortSignal.timeout(timeoutMs) });
  if (res.status !== 200) throw new Error(`haproxy stats: HTTP ${res.status}`);
  const [header, ...rows] = (await res.text()).trim().split("\n");
  const columns = header!.replace(/^# /, "").split(",");
  return rows
    .map((row) => {
      const f = row.split(",");
      return Object.fromEntries(columns.map((c, i) => [c, f[i] ?? ""]));
    })
    .filter((r) => r.pxname === BACKEND && r.svname !== "FRONTEND");
}

/** Server name → status ("UP", "DOWN", "UP 1/2", "DOWN 1/2", "MAINT", ...) of the app backend. */
export async function serverStates(statsPort: number, timeoutMs = 1000): Promise<Map<string, string>> {
  const rows = await backendStats(statsPort, timeoutMs);
  return new Map(rows.filter((r) => r.svname !== "BACKEND").map((r) => [r.svname!, r.status!]));
}

/** True when HAProxy's loopback /healthz answers 200 (at least one app instance UP). */
export async function haproxyHealthy(statsPort: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${statsPort}${HEALTHZ_URI}`, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}
