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

test("a topic no client holds is not published at all", () => {
  const hub = new WsHub(1000);
  const published: string[] = [];
  hub.attach({ publish: (topic) => (published.push(topic), 1) });
  hub.register("dashboard", { topics: new Set(["events", "metrics"]), bufferedAmount: () => 0 });
  hub.deliver("reads", "[{}]", 1);
  hub.deliver("writes", "[{}]", 1);
  hub.deliver("events", "[{},{}]", 2);
  hub.deliverMetrics({ at: 1 });
  expect(published).toEqual(["events", "metrics"]);
  hub.register("writer", { topics: new Set(["writes"]), bufferedAmount: () => 0 });
  hub.deliver("writes", "[{}]", 1);
  expect(published).toEqual(["events", "metrics", "writes"]);
});
