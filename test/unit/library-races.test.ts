import { expect, test } from "bun:test";
import { isKnownLibraryRace } from "../../src/lifecycle/library-races";

test("only postgres.js's write-after-close race is recognised; other errors are not", () => {
  const race = new TypeError("null is not an object (evaluating 'socket.write')");
  race.stack = `${race.message}\n    at nextWrite (/app/node_modules/postgres/src/connection.js:255:15)`;
  expect(isKnownLibraryRace(race)).toBe(true);
  const ours = new TypeError("null is not an object (evaluating 'socket.write')");
  ours.stack = `${ours.message}\n    at handler (/app/src/http/front-door.ts:10:3)`;
  expect(isKnownLibraryRace(ours)).toBe(false);
  expect(isKnownLibraryRace(new Error("boom"))).toBe(false);
  expect(isKnownLibraryRace("text")).toBe(false);
});
