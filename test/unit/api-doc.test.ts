import { expect, test } from "bun:test";
import { z } from "zod";
import { documented, errorBody, publishedPaths } from "../../src/http/api-doc";
import { reportedError } from "../../src/http/error-handler";
import { AppError, InfraError } from "../../src/errors";
import type { Logger } from "../../src/observability/logger";

const doc = documented({ summary: "a thing", auth: true, query: z.object({ limit: z.coerce.number().optional() }), body: z.object({ url: z.string() }), responses: { 200: z.object({ ok: z.boolean() }) }, errors: [400, 404] });

test("a documented route becomes an operation: path and query parameters, body, responses, error bodies", () => {
  const paths = publishedPaths([{ method: "PATCH", path: "/api/things/:code", hooks: { detail: doc } }], () => false);
  const op = paths["/api/things/{code}"]!.patch as Record<string, unknown>;
  expect(op.summary).toBe("a thing");
  expect((op.parameters as Array<{ name: string; in: string }>).map((p) => `${p.in}:${p.name}`)).toEqual(["path:code", "query:limit"]);
  expect(Object.keys(op.responses as object)).toEqual(["200", "400", "404"]);
  const errorSchema = (op.responses as Record<string, { content: Record<string, { schema: object }> }>)["404"]!.content["application/json"]!.schema;
  expect(z.fromJSONSchema(errorSchema as never).safeParse({ error: { code: "short-url-not-found", message: "no" } }).success).toBe(true);
  expect(z.fromJSONSchema(errorSchema as never).safeParse({ error: { code: "made-up", message: "no" } }).success).toBe(false);
  expect(errorBody.safeParse({ error: { code: "internal", message: "x" } }).success).toBe(true);
});

test("a route without a doc cannot be published; an unpublished one is left out", () => {
  expect(() => publishedPaths([{ method: "GET", path: "/undocumented" }], () => false)).toThrow("GET /undocumented has no API doc");
  expect(publishedPaths([{ method: "GET", path: "/page" }, { method: "HEAD", path: "/x" }], (p) => p === "/page")).toEqual({});
});

function recordingLogger() {
  const lines: Array<{ level: string; message: string; fields?: Record<string, unknown> }> = [];
  const at = (level: string) => (message: string, fields?: Record<string, unknown>) => void lines.push({ level, message, fields });
  const logger: Logger = { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
  return { logger, lines };
}

test("the error mapper logs an unknown error once, with its cause, and tells the client only `internal`", () => {
  const { logger, lines } = recordingLogger();
  const told = reportedError(new TypeError("null is not an object"), undefined, logger);
  expect(told.code).toBe("internal");
  expect(told.message).toBe("internal error");
  expect(lines).toHaveLength(1);
  expect(String(lines[0]!.fields?.error)).toContain("TypeError: null is not an object");
  const wrapped = reportedError(new AppError("internal", "internal error", { cause: new RangeError("deep cause") }), undefined, logger);
  expect(wrapped.code).toBe("internal");
  expect(String(lines[1]!.fields?.error)).toContain("RangeError: deep cause");
});

test("the client's errors and a node being down are not logged as failures", () => {
  const { logger, lines } = recordingLogger();
  reportedError(new AppError("invalid-body", "url must be a string"), undefined, logger);
  reportedError(new AppError("storage-unavailable", "try again", { cause: new InfraError("pg-0", "down", true) }), undefined, logger);
  reportedError(new AppError("short-url-not-found", "no"), undefined, logger);
  expect(lines).toEqual([]);
});
