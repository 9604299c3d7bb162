import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { STREAM_TOPICS } from "../../src/events/stream-access";
import { parseClientMessage } from "../../src/modules/stream/client-message";

describe("WebSocket client messages (zod)", () => {
  test("auth, subscribe and unsubscribe are read as the protocol says", () => {
    expect(parseClientMessage(`{"auth":"shk_x"}`)).toEqual({ kind: "auth", credential: "shk_x" });
    expect(parseClientMessage(`{"subscribe":["events","mine"]}`)).toEqual({ kind: "topics", subscribe: ["events", "mine"], unsubscribe: [] });
    expect(parseClientMessage(`{"unsubscribe":["metrics"]}`)).toEqual({ kind: "topics", subscribe: [], unsubscribe: ["metrics"] });
  });

  test("anything else is no message: not JSON, no field, an unknown topic, a topic that is not a string", () => {
    for (const text of ["", "nope", "null", "[]", "{}", `{"auth":1}`, `{"subscribe":"events"}`, `{"subscribe":["everything"]}`, `{"subscribe":[1]}`, `{"subscribe":["events"],"unsubscribe":["x"]}`]) {
      expect(parseClientMessage(text)).toBeNull();
    }
  });

  test("property: any text parses to a message or null, never throws; topic lists hold only known topics", () => {
    const json = fc.oneof(fc.string(), fc.jsonValue().map((v) => JSON.stringify(v)), fc.record({ subscribe: fc.array(fc.oneof(fc.constantFrom(...STREAM_TOPICS), fc.string())) }).map((v) => JSON.stringify(v)));
    fc.assert(
      fc.property(json, (text) => {
        const message = parseClientMessage(text);
        if (message?.kind === "topics") for (const t of [...message.subscribe, ...message.unsubscribe]) expect(STREAM_TOPICS).toContain(t);
      }),
      { numRuns: 2000 },
    );
  });
});
