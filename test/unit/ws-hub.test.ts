import { expect, test } from "bun:test";
import { WsHub } from "../../src/events/ws-hub";

test("the hub counts a batch as dropped for a client over the buffer limit and still publishes", () => {
  const hub = new WsHub(1000);
  const published: string[] = [];
  hub.attach({ publish: (topic) => (published.push(topic), 1) });
  hub.register("slow", { topics: new Set(["events"]), bufferedAmount: () => 5000 });
  hub.register("fast", { topics: new Set(["events"]), bufferedAmount: () => 0 });
  hub.register("other", { topics: new Set(["metrics"]), bufferedAmount: () => 5000 });
  hub.deliver("events", "[{},{}]", 2);
  expect(hub.drops).toEqual({ batches: 1, events: 2 });
  expect(published).toEqual(["events"]);
});
