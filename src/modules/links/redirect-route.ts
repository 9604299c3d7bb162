import { isLinkPathShape, isReservedName } from "../../domain/alias";
import { AppError } from "../../errors";
import { forwardedQuery } from "../../domain/query-forwarding";
import type { WindowCounter } from "../ratelimit/window-counter";
import { chargeAttempt, passwordAnswer, sentPassword } from "./password-gate";
import { blockedPage, disabledPage, wantsHtml } from "./link-pages";
import { rateLimitHeaders, rateLimitedError } from "../ratelimit/rate-limit-headers";
import type { MemoryAdmission } from "../ratelimit/memory-admission";
import type { LinkReader, ResolvedLink } from "./link-reader";
import { RedirectHeaders } from "./redirect-headers";

export interface RedirectDeps {
  reader: LinkReader;
  /** The redirect budget, decided in memory; null when rate limiting is off. */
  admission: MemoryAdmission | null;
  clientKey: (request: Request) => string;
  redirectStatus: number;
  notFoundCost: number;
  instanceId: number;
  /** Where an unknown code is sent instead of the 404 (NOT_FOUND_REDIRECT_URL); the 404's rate-limit charge stays. */
  notFoundUrl?: string;
  /**
   * Each redirect served, with its request, the client address the rate limiter used (undefined
   * when it did not run), and the request's method and URL (click analytics: appends the raw
   * facts, nothing more).
   */
  onServed?: (outcome: ResolvedLink["outcome"], request: Request, client: string | undefined, method: string, url: string) => void;
}

/**
 * `method` and `url` are the request's, passed by a caller that has read them already (the front
 * door): every read of request.method or request.url builds a new string, ~0.07–0.08 µs each in
 * Bun 1.4, and a cached redirect read them up to four times.
 */
export type RedirectHandler = (code: string, request: Request, method?: string, url?: string) => Response | Promise<Response>;

/** The answer of a served link: its redirect, counted as a click (the link's password already checked). */
function redirectOf(deps: RedirectDeps) {
  const permanent = deps.redirectStatus === 301 || deps.redirectStatus === 308;
  const headers = new RedirectHeaders({ instanceId: deps.instanceId, permanent, maxTargets: 10_000 });
  const served = deps.onServed;
  // A plain Response: the hottest route skips Elysia's header mapping.
  return ({ longUrl, forwardQuery, outcome }: ResolvedLink, request: Request, client: string | undefined, method: string, url: string): Response => {
    served?.(outcome, request, client, method, url);
    const location = forwardQuery ? forwardedQuery(longUrl, url) : longUrl;
    // A forwarded query makes a target of its own per request: built for it alone, not kept.
    return new Response(null, { status: deps.redirectStatus, headers: location === longUrl ? headers.of(location, outcome) : headers.build(location, outcome) });
  };
}

/**
 * GET|HEAD /{code}: the redirect. The client's budget is charged first, in memory (the cluster's
 * share is reconciled through Redis in the background), and a 404 costs RATE_LIMIT_NOT_FOUND_COST;
 * a link this instance holds in memory is then answered synchronously (no promise anywhere).
 * Errors are thrown as AppError.
 */
export function redirectHandler(deps: RedirectDeps): RedirectHandler {
  const { reader, admission } = deps;
  const send = redirectOf(deps);
  // A protected link answers with its password form (no click counted until the password is right).
  const redirect = (resolved: ResolvedLink, request: Request, client: string | undefined, method: string, url: string): Response =>
    resolved.passwordHash === null ? send(resolved, request, client, method, url) : passwordAnswer(request, resolved.outcome.code, false);

  // Snowflake codes are sequential, so guessing must cost more than a hit: the rest of a 404's
  // price is charged even when it empties the bucket, so a prober's steady rate of 404s is the
  // redirect budget divided by RATE_LIMIT_NOT_FOUND_COST. The 404 says what is left.
  const surcharged = (admission: MemoryAdmission, client: string, error: unknown): never => {
    if (error instanceof AppError && error.code === "short-url-not-found" && deps.notFoundCost > 1) {
      throw new AppError(error.code, error.message, { headers: rateLimitHeaders(admission.admit(client, deps.notFoundCost - 1, true)) });
    }
    throw error;
  };

  const limited = (admission: MemoryAdmission, client: string, code: string, request: Request, method: string, url: string): Response | Promise<Response> => {
    const decision = admission.admit(client, 1);
    if (!decision.allowed) throw rateLimitedError(decision);
    let resolved: ReturnType<LinkReader["resolve"]>;
    try {
      resolved = reader.resolve(code, request, client);
    } catch (error) {
      return surcharged(admission, client, error);
    }
    return resolved instanceof Promise
      ? resolved.then(
          (r) => redirect(r, request, client, method, url),
          (error: unknown) => surcharged(admission, client, error),
        )
      : redirect(resolved, request, client, method, url);
  };

  const handle = (code: string, request: Request, method: string, url: string): Response | Promise<Response> => {
    if (admission) return limited(admission, deps.clientKey(request), code, request, method, url);
    const resolved = reader.resolve(code, request);
    return resolved instanceof Promise ? resolved.then((r) => redirect(r, request, undefined, method, url)) : redirect(resolved, request, undefined, method, url);
  };
  const answered = answeredInKind(deps.notFoundUrl);
  return (code, request, method = request.method, url = request.url) => {
    try {
      const answer = handle(code, request, method, url);
      return answer instanceof Promise ? answer.catch((error: unknown) => answered(error, request)) : answer;
    } catch (error) {
      return answered(error, request);
    }
  };
}

/**
 * Refusals a person may meet in a browser are answered in kind: an unknown code is sent to
 * NOT_FOUND_REDIRECT_URL when set, a disabled or blocked link gets a page saying so; the rest
 * are thrown on, to be JSON.
 */
function answeredInKind(elsewhere: string | undefined) {
  return (error: unknown, request: Request): Response => {
    if (!(error instanceof AppError)) throw error;
    if (error.code === "short-url-not-found" && elsewhere !== undefined) return new Response(null, { status: 302, headers: { location: elsewhere, ...error.options.headers } });
    if (error.code === "link-disabled" && wantsHtml(request)) return disabledPage(error.message);
    if (error.code === "link-blocked" && wantsHtml(request)) return blockedPage(error.message);
    throw error;
  };
}

/**
 * The code of a `GET /{code}` (`path`: without the query) the front door may hand to the redirect handler itself, without
 * Elysia's router and its promise (measured: ~10 % of a cached redirect's server CPU): a single
 * path segment of code or alias characters that names no route of the service (reserved names
 * such as `metrics` or `docs` go to the router). Anything else, percent-encoded paths included,
 * reaches the same handler through the router's `/:code` route.
 */
export function directCode(method: string, path: string): string | null {
  if (method !== "GET") return null;
  const code = path.slice(1);
  return isLinkPathShape(code) && !isReservedName(code) ? code : null;
}

/**
 * POST /{code}: the password of a protected link (a form field or JSON). Right: the redirect,
 * counted as a click. Wrong: the form again (401) or 401 `password-required`. Each attempt is
 * charged to the client on this link and to the link (password-gate.ts) before it is checked.
 */
export function unlockHandler(deps: RedirectDeps & { count: WindowCounter }): RedirectHandler {
  const send = redirectOf(deps);
  const answered = answeredInKind(deps.notFoundUrl);
  const unlock = async (code: string, request: Request): Promise<Response> => {
    const resolved = await deps.reader.resolve(code, request);
    if (resolved.passwordHash === null) return send(resolved, request, undefined, request.method, request.url);
    const password = await sentPassword(request);
    await chargeAttempt(deps.count, resolved.outcome.code, deps.clientKey(request));
    return (await Bun.password.verify(password, resolved.passwordHash)) ? send(resolved, request, undefined, request.method, request.url) : passwordAnswer(request, resolved.outcome.code, true);
  };
  // The form a browser posts gets the same pages as its GET (a link blocked or disabled since).
  return (code, request) => unlock(code, request).catch((error: unknown) => answered(error, request));
}
