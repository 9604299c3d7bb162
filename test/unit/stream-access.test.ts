import { describe, expect, test } from "bun:test";
import { busTopic, defaultTopics, grant, topicList, topicsParam, type StreamAccess } from "../../src/events/stream-access";

const admin: StreamAccess = { everything: true, keyId: "adminKey" };
const user: StreamAccess = { everything: false, keyId: "userKey1" };
const publicAnon: StreamAccess = { everything: true, keyId: null };

describe("stream access", () => {
  test("an ordinary key holds only its own stream", () => {
    expect(grant(user, ["events", "mine", "metrics", "topology", "reads", "writes"])).toEqual({ granted: ["mine"], refused: ["events", "metrics", "topology", "reads", "writes"] });
  });
  test("an admin key holds everything, its own stream included", () => {
    expect(grant(admin, ["events", "reads", "writes", "metrics", "topology", "mine"]).refused).toEqual([]);
  });
  test("without a key there is no own stream, even in public mode", () => {
    expect(grant(publicAnon, ["events", "mine"])).toEqual({ granted: ["events"], refused: ["mine"] });
  });
  test("mine is a per-key Bun topic; the shared topics keep their names", () => {
    expect(busTopic("mine", user)).toBe("owner:userKey1");
    expect(busTopic("mine", admin)).toBe("owner:adminKey");
    expect(busTopic("events", admin)).toBe("events");
  });
  test("defaults: the dashboard's topics for admins, the own stream for ordinary keys", () => {
    expect(defaultTopics(admin)).toEqual(["events", "metrics"]);
    expect(defaultTopics(user)).toEqual(["mine"]);
  });
  test("topic lists: anything unknown or not a string refuses the whole list", () => {
    expect(topicList(["events", "mine"])).toEqual(["events", "mine"]);
    expect(topicList(["events", "owner:someoneElse"])).toBeNull();
    expect(topicList(["events", 1])).toBeNull();
    expect(topicList("events")).toBeNull();
    expect(topicsParam("events, metrics,events")).toEqual(["events", "metrics"]);
    expect(topicsParam("")).toBeNull();
    expect(topicsParam("owner:x")).toBeNull();
  });
});
