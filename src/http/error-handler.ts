import { AppError, asServiceError } from "../errors";
import type { Logger } from "../observability/logger";

/**
 * The one place errors become HTTP: `{error: {code, message}}` with the status from the code
 * table. Framework errors (bad route, unparsable body) are mapped onto our codes, a node's
 * trouble onto a 503; anything unknown is a 500 that is logged and never leaks its message.
 */
export function errorResponse(error: unknown, frameworkCode: string | number | undefined, logger: Logger): Response {
  const appError = reportedError(error, frameworkCode, logger);
  const headers: Record<string, string> = { "content-type": "application/json", ...appError.options.headers };
  if (appError.options.retryAfterSeconds !== undefined) headers["retry-after"] = String(appError.options.retryAfterSeconds);
  return new Response(JSON.stringify({ error: { code: appError.code, message: appError.message } }), { status: appError.status, headers });
}

/**
 * The error a client is told, logged here when it is ours (an unknown error, with its cause) or a
 * gap in validation: the one place that logs request errors. Routes that answer several results
 * at once (bulk, import) report each item's error through it too.
 */
export function reportedError(error: unknown, frameworkCode: string | number | undefined, logger: Logger): AppError {
  const appError = toAppError(error, frameworkCode);
  if (appError.status >= 500 && appError.code !== "storage-unavailable" && appError.code !== "not-ready") {
    logger.error("request failed", { error: describe(error) });
  } else if (appError.code === "invalid-value") {
    // The database refused a value of the request: the client's 400, but our validation let it through.
    logger.warn("a request value reached the database unvalidated", { error: describe(error) });
  }
  return appError;
}

function toAppError(error: unknown, frameworkCode: string | number | undefined): AppError {
  if (error instanceof AppError) return error;
  switch (frameworkCode) {
    case "NOT_FOUND":
      return new AppError("route-not-found", "no such route");
    case "PARSE":
      return new AppError("invalid-json", "body could not be parsed");
    case "VALIDATION":
      return new AppError("invalid-body", "request does not match the schema");
    default:
      return asServiceError(error);
  }
}

function describe(error: unknown): string {
  if (error instanceof AppError && error.cause) return describe(error.cause);
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

