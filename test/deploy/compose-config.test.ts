/**
 * docker-compose.yml through Docker Compose's own parser and schema validation. `config` needs no
 * Docker engine. The binary is required, not optional: CI installs the Debian package
 * `docker-compose` (v1.29, the Compose Specification without `version:`).
 */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "../..");
const BIN = Bun.which("docker-compose");

function compose(...args: string[]) {
  if (!BIN) throw new Error("docker-compose not found: install the Debian package `docker-compose` (apt-get install docker-compose)");
  // A clean env: a developer's POSTGRES_PASSWORD etc. must not change what is validated.
  const result = Bun.spawnSync([BIN, "-f", "docker-compose.yml", ...args], { cwd: ROOT, stdout: "pipe", stderr: "pipe", env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp" } });
  return { code: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}

describe("docker-compose config", () => {
  test("docker-compose is installed", () => {
    expect(BIN, "install the Debian package docker-compose").not.toBeNull();
  });

  test("validates (config -q)", () => {
    const r = compose("config", "-q");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  });

  test("defines exactly the expected services", () => {
    const r = compose("config", "--services");
    expect(r.code).toBe(0);
    const expected = ["redis0", "redis1", "redis2", "db0", "db1", "db2", "db0-replica", "db1-replica", "db2-replica", "app1", "app2", "app3", "haproxy"];
    expect(r.stdout.trim().split("\n").sort()).toEqual(expected.sort());
  });

  test("named volumes", () => {
    const r = compose("config", "--volumes");
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split("\n").sort()).toEqual(["db0-data", "db0-replica-data", "db1-data", "db1-replica-data", "db2-data", "db2-replica-data", "redis0-data", "redis1-data", "redis2-data"]);
  });
});
