import { describe, expect, test } from "bun:test";
import { clientIp } from "../../src/http/client-ip";

describe("clientIp", () => {
  test("ignores X-Forwarded-For from an untrusted peer", () => {
    expect(clientIp("198.51.100.9", "1.2.3.4", ["127.0.0.1"])).toBe("198.51.100.9");
  });
  test("takes the right-most untrusted hop behind a trusted proxy", () => {
    expect(clientIp("127.0.0.1", "6.6.6.6, 198.51.100.7", ["127.0.0.1"])).toBe("198.51.100.7");
    expect(clientIp("10.0.0.2", "198.51.100.7, 10.0.0.3", ["10.0.0.2", "10.0.0.3"])).toBe("198.51.100.7");
  });
  test("falls back to the peer when the header holds only proxies", () => {
    expect(clientIp("127.0.0.1", "127.0.0.1", ["127.0.0.1"])).toBe("127.0.0.1");
  });
  test("normalises IPv4-mapped IPv6 peers", () => {
    expect(clientIp("::ffff:127.0.0.1", "203.0.113.5", ["127.0.0.1"])).toBe("203.0.113.5");
  });
  test("unknown peer", () => {
    expect(clientIp(undefined, null, [])).toBe("unknown");
  });
});
