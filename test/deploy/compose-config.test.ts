/**
 * docker-compose.yml through Docker Compose's own parser and schema validation. `config` needs no
 * Docker engine. The binary is required, not optional: CI installs the Debian package
 * `docker-compose` (v1.29, the Compose Specification without `version:`).
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { parseConfig } from "../../src/config";

const ROOT = join(import.meta.dir, "../..");
const BIN = Bun.which("docker-compose");

const BASE = ["-f", "docker-compose.yml"];
const WITH_SHARD3 = [...BASE, "-f", "docker-compose.shard3.yml"];

function compose(...args: string[]) {
  return composeFiles(BASE, ...args);
}

function composeFiles(files: string[], ...args: string[]) {
  if (!BIN) throw new Error("docker-compose not found: install the Debian package `docker-compose` (apt-get install docker-compose)");
  // A clean env: a developer's POSTGRES_PASSWORD etc. must not change what is validated.
  const result = Bun.spawnSync([BIN, ...files, ...args], { cwd: ROOT, stdout: "pipe", stderr: "pipe", env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp" } });
  return { code: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}

// docker-compose is a Python program: on a busy 2-core machine one `config` call can take seconds.
const SLOW = 30_000;

describe("docker-compose config", () => {
  test("docker-compose is installed", () => {
    expect(BIN, "install the Debian package docker-compose").not.toBeNull();
  }, SLOW);

  test("validates (config -q)", () => {
    const r = compose("config", "-q");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  }, SLOW);

  test("defines exactly the expected services", () => {
    const r = compose("config", "--services");
    expect(r.code).toBe(0);
    const expected = ["redis0", "redis1", "redis2", "monitor", "db0-a", "db0-b", "db1-a", "db1-b", "db2-a", "db2-b", "app1", "app2", "app3", "haproxy"];
    expect(r.stdout.trim().split("\n").sort()).toEqual(expected.sort());
  }, SLOW);

  test("named volumes", () => {
    const r = compose("config", "--volumes");
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split("\n").sort()).toEqual(["db0-a-data", "db0-b-data", "db1-a-data", "db1-b-data", "db2-a-data", "db2-b-data", "monitor-data", "redis0-data", "redis1-data", "redis2-data"]);
  }, SLOW);

  test("observability is closed and the metrics listener is published nowhere: apps have no ports, only HAProxy does, and it refuses /metrics", () => {
    const r = compose("config");
    expect(r.code).toBe(0);
    const services = (parse(r.stdout) as { services: Record<string, { environment?: Record<string, string>; ports?: unknown[] }> }).services;
    for (const app of ["app1", "app2", "app3"]) {
      const parsed = parseConfig(services[app]!.environment!);
      expect(parsed.ok && parsed.config.OBSERVABILITY_PUBLIC).toBe(false);
      expect(parsed.ok && parsed.config.METRICS_PORT).toBe(9464);
      expect(services[app]!.ports).toBeUndefined();
    }
    const published = Object.entries(services).filter(([, s]) => (s.ports ?? []).length > 0).map(([name]) => name);
    expect(published).toEqual(["haproxy"]);
    expect(JSON.stringify(services.haproxy!.ports)).not.toContain("9464");
    expect(readFileSync(join(ROOT, "haproxy.cfg"), "utf8")).toMatch(/^\s*http-request return status 404 .* if \{ path -i \/metrics \/metrics\/ \}$/m);
  }, SLOW);

  test("the 4th-shard override merges: its nodes, and every app's node lists name 4 shards that the app's config accepts", () => {
    const r = composeFiles(WITH_SHARD3, "config");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const merged = parse(r.stdout) as { services: Record<string, { environment?: Record<string, string>; depends_on?: Record<string, unknown> }> };
    for (const node of ["redis3", "db3-a", "db3-b"]) expect(Object.keys(merged.services)).toContain(node);
    const ids = new Set<string>();
    for (const app of ["app1", "app2", "app3"]) {
      const env = merged.services[app]!.environment!;
      ids.add(env.INSTANCE_ID!);
      const parsed = parseConfig(env);
      expect(parsed.ok, parsed.ok ? "" : parsed.message).toBe(true);
      if (parsed.ok) expect(parsed.config.shards.map((s) => s.redis)).toEqual(["redis://redis0:6379", "redis://redis1:6379", "redis://redis2:6379", "redis://redis3:6379"]);
      expect(Object.keys(merged.services[app]!.depends_on!)).toEqual(expect.arrayContaining(["db0-a", "db3-a", "db3-b", "redis3"]));
    }
    // The override replaces the node lists only: each app keeps its own INSTANCE_ID.
    expect([...ids].sort()).toEqual(["1", "2", "3"]);
  }, SLOW);
});
