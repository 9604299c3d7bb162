/**
 * What a breaker counts: only the node's failures. Any SQLSTATE of a statement class, any error
 * a client library raises before sending (a value it cannot serialise), any Redis error reply
 * about the command, is not the node's; connection errors and the server's own condition are.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { classifyPgError, classifyRedisError } from "../../src/storage/failure-kind";

const withCode = (code: string) => Object.assign(new Error(`failed: ${code}`), { code });
const sqlstate = (cls: string) => fc.stringMatching(/^[0-9A-Z]{3}$/).map((rest) => `${cls}${rest}`);

describe("PostgreSQL failures", () => {
  test("property: every SQLSTATE of the statement classes (22 data, 23 integrity, 42 syntax/access, 0A, 21, 2B, 44, P0) is not the node's and is not retried", () => {
    fc.assert(
      fc.property(fc.constantFrom("22", "23", "42", "0A", "21", "2B", "44", "P0"), fc.stringMatching(/^[0-9A-Z]{3}$/), (cls, rest) => {
        expect(classifyPgError(withCode(`${cls}${rest}`))).toEqual({ node: false, retryable: false });
      }),
    );
  });

  test("property: every SQLSTATE of the server-condition classes (08, 53, 57, 58, XX) counts against the node and may be retried", () => {
    fc.assert(
      fc.property(fc.constantFrom("08", "53", "57", "58", "XX").chain(sqlstate), (code) => {
        expect(classifyPgError(withCode(code))).toEqual({ node: true, retryable: true });
      }),
    );
  });

  test("a demoted primary refusing a write counts against it, but the write is not repeated there", () => {
    expect(classifyPgError(withCode("25006"))).toEqual({ node: true, retryable: false });
  });

  test("serialization failures and deadlocks are retried without blaming the node", () => {
    expect(classifyPgError(withCode("40001"))).toEqual({ node: false, retryable: true });
    expect(classifyPgError(withCode("40P01"))).toEqual({ node: false, retryable: true });
  });

  test.each(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "CONNECTION_CLOSED", "CONNECTION_DESTROYED", "CONNECTION_ENDED", "CONNECT_TIMEOUT"])("%s is the node's", (code) => {
    expect(classifyPgError(withCode(code)).node).toBe(true);
  });

  test("property: an error without a SQLSTATE or connection code (a value postgres.js cannot serialise, a bug) is never the node's", () => {
    fc.assert(
      fc.property(fc.constantFrom(RangeError, TypeError, Error, SyntaxError), fc.string(), fc.option(fc.constantFrom("MAX_PARAMETERS_EXCEEDED", "UNDEFINED_VALUE", "NOT_TAGGED_CALL", "x", "")), (Kind, message, code) => {
        const error = code === null ? new Kind(message) : Object.assign(new Kind(message), { code });
        expect(classifyPgError(error).node).toBe(false);
      }),
    );
    expect(classifyPgError("a string").node).toBe(false);
    expect(classifyPgError(null).node).toBe(false);
  });
});

describe("Redis failures", () => {
  const reply = (message: string) => Object.assign(new Error(message), { name: "ReplyError" });

  test.each(["ERR wrong number of arguments for 'get' command", "WRONGTYPE Operation against a key holding the wrong kind of value", "NOSCRIPT No matching script", "ERR value is not an integer or out of range"])(
    "the reply %p is about the command, not the node",
    (message) => expect(classifyRedisError(reply(message))).toEqual({ node: false, retryable: false }),
  );

  test.each(["LOADING Redis is loading the dataset in memory", "BUSY Redis is busy running a script", "OOM command not allowed when used memory > 'maxmemory'", "READONLY You can't write against a read only replica.", "MASTERDOWN Link with MASTER is down"])(
    "the reply %p is the node's condition",
    (message) => expect(classifyRedisError(reply(message)).node).toBe(true),
  );

  test("connection loss is the node's: ioredis' closed-connection and offline errors, socket codes", () => {
    expect(classifyRedisError(new Error("Connection is closed.")).node).toBe(true);
    expect(classifyRedisError(new Error("Stream isn't writeable and enableOfflineQueue options is false")).node).toBe(true);
    expect(classifyRedisError(withCode("ECONNREFUSED")).node).toBe(true);
  });

  test("property: a thrown bug (TypeError and the like, any message not a connection message) is not the node's", () => {
    fc.assert(
      fc.property(fc.string().filter((m) => !/Connection is closed|Stream isn't writeable|ETIMEDOUT|max retries/.test(m)), (message) => {
        expect(classifyRedisError(new TypeError(message)).node).toBe(false);
      }),
    );
  });
});
