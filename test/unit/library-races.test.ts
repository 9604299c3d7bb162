import { expect, test } from "bun:test";
import { isKnownLibraryRace, isStrayNodeFailure } from "../../src/lifecycle/library-races";

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

test("a failed node's stray error (reset, refused, shutting down) is recognised; a bug or a statement's error is not", () => {
  const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });
  expect(isStrayNodeFailure(withCode("read ECONNRESET", "ECONNRESET"))).toBe(true);
  expect(isStrayNodeFailure(withCode("connect ECONNREFUSED 127.0.0.1:5432", "ECONNREFUSED"))).toBe(true);
  expect(isStrayNodeFailure(withCode("terminating connection due to administrator command", "57P01"))).toBe(true);
  expect(isStrayNodeFailure(withCode("invalid input syntax for type integer", "22P02"))).toBe(false);
  expect(isStrayNodeFailure(new TypeError("undefined is not a function"))).toBe(false);
  expect(isStrayNodeFailure("ECONNRESET")).toBe(false);
});
