import { describe, expect, test } from "bun:test";
import { checkLongUrl } from "../../src/domain/long-url";
import { ownHostRule } from "../../src/domain/own-host";

const rules = { maxLength: 200, isOwnHost: ownHostRule({ publicBaseUrl: "https://sho.rt", host: "127.0.0.1", extraHosts: ["go.example"], machineHosts: [] }) };
const reason = (raw: string) => {
  const r = checkLongUrl(raw, rules);
  return r.ok ? null : r.reason;
};

describe("checkLongUrl", () => {
  test("accepts http and https and returns the normalised href", () => {
    expect(checkLongUrl("https://Example.COM/a?b=1#c", rules)).toEqual({ ok: true, href: "https://example.com/a?b=1#c" });
    expect(checkLongUrl("http://example.com", rules)).toEqual({ ok: true, href: "http://example.com/" });
  });

  test.each([
    ["javascript:alert(1)", "url scheme javascript is not allowed; use http or https"],
    ["java\tscript:alert(1)", "url contains whitespace or control characters"],
    ["data:text/html,<b>x</b>", "url scheme data is not allowed; use http or https"],
    ["ftp://example.com/f", "url scheme ftp is not allowed; use http or https"],
    ["file:///etc/passwd", "url scheme file is not allowed; use http or https"],
    ["//example.com/x", "url is not an absolute URL"],
    ["example.com", "url is not an absolute URL"],
    ["", "url is empty"],
    ["https://user:pass@example.com/", "url must not contain credentials (user:pass@host)"],
    ["https://example.com@evil.test/", "url must not contain credentials (user:pass@host)"],
    ["https://sho.rt/abc", "url points back at this service"],
    ["https://SHO.RT/abc", "url points back at this service"],
    ["https://sho.rt./abc", "url points back at this service"],
    ["http://127.0.0.1:8080/x", "url points back at this service"],
    ["http://0x7f.0.0.1:8080/x", "url points back at this service"],
    ["https://exa mple.com/", "url contains whitespace or control characters"],
    ["https://example.com/\u0000", "url contains whitespace or control characters"],
    ["https://example.com/\u2028", "url contains whitespace or control characters"],
    [" https://example.com/", "url contains whitespace or control characters"],
  ])("rejects %p", (raw, expected) => {
    expect(reason(raw)).toBe(expected);
  });

  test("length is checked on the input and on the normalised form", () => {
    expect(reason(`https://example.com/${"a".repeat(200)}`)).toBe("url is longer than 200 characters");
    // Each non-ASCII character grows to %XX%XX when serialised.
    expect(reason(`https://example.com/${"é".repeat(80)}`)).toBe("url is longer than 200 characters once normalised");
  });

  test("another port on our host is still us (a sibling instance, the metrics port, the load balancer)", () => {
    expect(reason("http://127.0.0.1:9090/x")).toBe("url points back at this service");
    expect(reason("http://sho.rt:8443/x")).toBe("url points back at this service");
    expect(reason("http://localhost:1/x")).toBe("url points back at this service");
  });

  test.each([
    "http://localhost:8080/x",
    "http://LOCALHOST.:8080/x",
    "http://app.localhost:8080/x",
    "http://127.0.0.2:8080/x",
    "http://127.1:8080/x",
    "http://2130706433:8080/x",
    "http://0177.0.0.1:8080/x",
    "http://[::1]:8080/x",
    "http://[0:0:0:0:0:0:0:1]:8080/x",
    "http://[::ffff:127.0.0.1]:8080/x",
    "http://[::ffff:7f00:1]:8080/x",
    "https://go.example/x",
    "http://go.example:1234/x",
    "https://sho.rt:443/x",
  ])("every spelling of this service is refused: %p", (raw) => {
    expect(reason(raw)).toBe("url points back at this service");
  });

  test("the machine's own addresses and name, the listen host and OWN_HOSTNAMES are us in every spelling; their neighbours are not", () => {
    const own = ownHostRule({ publicBaseUrl: "https://sho.rt", host: "app.internal", extraHosts: ["192.0.2.7", "2001:DB8::7"], machineHosts: ["10.1.2.3", "fe80::1", "vm"] });
    for (const raw of ["http://10.1.2.3:8080/", "http://167838211/", "http://[::ffff:10.1.2.3]/", "http://[fe80:0::1]:1/", "http://VM./", "http://app.internal:9/", "http://0300.0.2.7/", "http://[2001:db8:0:0::7]/"]) expect([raw, own(new URL(raw))]).toEqual([raw, true]);
    for (const raw of ["http://10.1.2.4:8080/", "http://[fe80::2]/", "http://vm.example/", "http://internal/", "http://192.0.2.8/", "http://[2001:db8::8]/", "http://[64:ff9b::a01:203]/"]) expect([raw, own(new URL(raw))]).toEqual([raw, false]);
  });
});
