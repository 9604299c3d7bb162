/**
 * The committed haproxy.cfg and the configs generated for local instances come from one template
 * (scripts/deploy/haproxy-config.ts): both must pass `haproxy -c` and differ only where the
 * topology does (listeners, servers, check timing, DNS, access log).
 */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { composeHaproxyConfig, localHaproxyConfig, renderHaproxyConfig } from "../../scripts/deploy/haproxy-config";
import { checkHaproxyConfig } from "../../scripts/deploy/haproxy-runtime";
import { TEST_CHECK } from "../../harness/haproxy";

const TOPOLOGY_LINE = /^\s*(#|bind |server |default-server |log stdout|option httplog|option dontlognull|resolvers |nameserver |hold |peer |localpeer )|^$/;
const PEERS = { local: "lb", all: [{ name: "lb", address: "127.0.0.1:18405" }] };

describe("haproxy template", () => {
  test("a local render is valid for the real haproxy", () => {
    const dir = mkdtempSync(join(tmpdir(), "shorten-haproxy-template-"));
    try {
      const file = join(dir, "haproxy.cfg");
      writeFileSync(file, localHaproxyConfig({ port: 18080, statsPort: 18404, instancePorts: [18081, 18082, 18083], check: TEST_CHECK, peers: PEERS }));
      const output = checkHaproxyConfig(file);
      expect(output).toContain("Configuration file is valid");
      expect(output).not.toContain("[WARNING]");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("local and compose renders differ only in topology lines", () => {
    const strip = (cfg: string) => cfg.split("\n").filter((l) => !TOPOLOGY_LINE.test(l));
    const local = localHaproxyConfig({ port: 18080, statsPort: 18404, instancePorts: [18081, 18082, 18083], peers: PEERS });
    expect(strip(local)).toEqual(strip(composeHaproxyConfig()));
    expect(local).toContain("    server app-18081 127.0.0.1:18081");
    expect(local).toContain("    bind 127.0.0.1:18404");
  });

  test("refuses a stats page off loopback, duplicate server names, and no servers", () => {
    const base = { bind: ":80", statsBind: "127.0.0.1:8404", check: TEST_CHECK, accessLog: false, origin: "test", peers: PEERS, servers: [{ name: "a", host: "127.0.0.1", port: 1 }] };
    expect(() => renderHaproxyConfig({ ...base, statsBind: "0.0.0.0:8404" })).toThrow(/loopback/);
    expect(() => renderHaproxyConfig({ ...base, statsBind: ":8404" })).toThrow(/loopback/);
    expect(() => renderHaproxyConfig({ ...base, servers: [base.servers[0]!, base.servers[0]!] })).toThrow(/unique/);
    expect(() => renderHaproxyConfig({ ...base, servers: [] })).toThrow(/no servers/);
  });
});
