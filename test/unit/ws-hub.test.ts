import { expect, test } from "bun:test";
import { WsHub, type HubClient } from "../../src/events/ws-hub";

const client = (topics: string[], buffered = 0, keyId: string | null = null, closed: string[] = []): HubClient => ({
  topics: new Set(topics),
  keyId,
  bufferedAmount: () => buffered,
  close: (code, reason) => closed.push(`${code} ${reason}`),
});

function hubWithLog() {
  const hub = new WsHub(1000);
  const published: Array<{ topic: string; data: string }> = [];
  hub.attach({ publish: (topic, data) => (published.push({ topic, data }), 1) });
  return { hub, published, topics: () => published.map((p) => p.topic) };
}

test("the hub counts a batch as dropped for a client over the buffer limit and still publishes", () => {
  const { hub, topics } = hubWithLog();
  hub.register("slow", client(["events"], 5000));
  hub.register("fast", client(["events"]));
  hub.register("other", client(["metrics"], 5000));
  hub.deliver("events", () => "[{},{}]", 2);
  expect(hub.drops).toEqual({ batches: 1, events: 2 });
  expect(topics()).toEqual(["events"]);
});

test("a batch no subscriber can take (every one past the buffer limit) is counted as dropped and never built", () => {
  const { hub, topics } = hubWithLog();
  hub.register("slow", client(["events"], 1001));
  hub.register("slower", client(["events"], 5000));
  hub.register("reader", client(["reads"]));
  let built = 0;
  hub.deliver("events", () => (built++, "[{},{},{}]"), 3);
  expect(built).toBe(0);
  expect(topics()).toEqual([]);
  expect(hub.drops).toEqual({ batches: 2, events: 6 });
  hub.register("caught-up", client(["events"], 1000));
  hub.deliver("events", () => (built++, "[{}]"), 1);
  expect(built).toBe(1);
  expect(topics()).toEqual(["events"]);
});

test("a topic no client holds is not published at all", () => {
  const { hub, topics } = hubWithLog();
  hub.register("dashboard", client(["events", "metrics"]));
  hub.deliver("reads", () => "[{}]", 1);
  hub.deliver("writes", () => "[{}]", 1);
  hub.deliver("events", () => "[{},{}]", 2);
  hub.deliverMetrics({ at: 1 });
  expect(topics()).toEqual(["events", "metrics"]);
  hub.register("writer", client(["writes"]));
  hub.deliver("writes", () => "[{}]", 1);
  expect(topics()).toEqual(["events", "metrics", "writes"]);
});

test("subscriber counts follow subscribe, unsubscribe and unregister", () => {
  const { hub, topics } = hubWithLog();
  hub.register("a", client([]));
  hub.subscribe("a", "reads");
  hub.subscribe("a", "reads");
  hub.register("b", client(["reads"]));
  hub.unsubscribe("a", "reads");
  hub.deliver("reads", () => "[{}]", 1);
  expect(topics()).toEqual(["reads"]);
  hub.unregister("b");
  hub.deliver("reads", () => "[{}]", 1);
  expect(topics()).toEqual(["reads"]);
});

test("an owner's events go to that owner's topic only, labelled mine", () => {
  const { hub, published } = hubWithLog();
  hub.register("alice", client(["owner:aliceKey"], 0, "aliceKey"));
  hub.deliverOwned("aliceKey", () => '[{"short_code":"a"}]', 1);
  hub.deliverOwned("bobKey", () => '[{"short_code":"b"}]', 1);
  expect(published).toEqual([{ topic: "owner:aliceKey", data: '{"kind":"events","topic":"mine","events":[{"short_code":"a"}]}' }]);
});

test("revoking a key closes exactly the sockets opened with it, with 1008", () => {
  const { hub } = hubWithLog();
  const closed: string[] = [];
  const untouched: string[] = [];
  hub.register("k1", client(["mine"], 0, "revoked", closed));
  hub.register("k2", client(["events"], 0, "revoked", closed));
  hub.register("other", client(["events"], 0, "kept", untouched));
  hub.register("anon", client(["events"], 0, null, untouched));
  expect(hub.closeKeys(["revoked"])).toBe(2);
  expect(closed).toEqual(["1008 API key revoked", "1008 API key revoked"]);
  expect(untouched).toEqual([]);
});

test("the bus is told when a topic gains its first subscriber and loses its last, and a subscribe waits for it", async () => {
  const { hub } = hubWithLog();
  const told: string[] = [];
  let release = () => {};
  hub.onTopicHeld = (topic, held) => {
    told.push(`${topic} ${held ? "on" : "off"}`);
    return topic === "owner:k1" ? new Promise((resolve) => (release = resolve)) : Promise.resolve();
  };
  await hub.register("a", client(["events"]));
  await hub.register("b", client(["events", "metrics"]));
  await hub.register("c", client([]));
  let subscribed = false;
  const waiting = hub.subscribe("c", "owner:k1").then(() => (subscribed = true));
  await Bun.sleep(5);
  expect(subscribed).toBe(false);
  release();
  await waiting;
  await hub.subscribe("c", "owner:k1");
  hub.unregister("a");
  hub.unsubscribe("b", "events");
  hub.unsubscribe("b", "events");
  hub.closeAll();
  expect(told).toEqual(["events on", "metrics on", "owner:k1 on", "events off", "metrics off", "owner:k1 off"]);
});
