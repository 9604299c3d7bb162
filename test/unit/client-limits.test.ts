import { describe, expect, test } from "bun:test";
import { ClientLimits } from "../../src/http/client-limits";

describe("ClientLimits", () => {
  test("an address holds at most maxSockets at once; a released slot can be taken again", () => {
    const limits = new ClientLimits({ maxSockets: 2, messagesPerSecond: 5 });
    expect([limits.admit("a"), limits.admit("a"), limits.admit("a")]).toEqual([true, true, false]);
    expect(limits.admit("b")).toBe(true);
    limits.release("a");
    expect(limits.admit("a")).toBe(true);
    expect(limits.socketsOf("a")).toBe(2);
  });

  test("messages per second are counted per address in one-second windows", () => {
    let now = 10_000;
    const limits = new ClientLimits({ maxSockets: 5, messagesPerSecond: 3 }, () => now);
    limits.admit("a");
    limits.admit("b");
    expect([1, 2, 3, 4].map(() => limits.allowMessage("a"))).toEqual([true, true, true, false]);
    expect(limits.allowMessage("b")).toBe(true);
    now += 999;
    expect(limits.allowMessage("a")).toBe(false);
    now += 1;
    expect(limits.allowMessage("a")).toBe(true);
  });

  test("an address's entries go with its last socket (memory stays bounded by open sockets)", () => {
    const limits = new ClientLimits({ maxSockets: 5, messagesPerSecond: 1 });
    for (let i = 0; i < 1000; i++) {
      const address = `198.51.100.${i}`;
      limits.admit(address);
      limits.allowMessage(address);
      limits.release(address);
    }
    expect(limits.addresses).toBe(0);
    limits.admit("x");
    expect(limits.allowMessage("x")).toBe(true);
  });
});
