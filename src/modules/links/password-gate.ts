import { AppError } from "../../errors";
import type { WindowCounter } from "../ratelimit/window-counter";
import { PAGE_HEADERS, passwordPage, wantsHtml } from "./link-pages";
import { readJsonBody } from "../../http/json-body";
import { mediaTypeOf } from "../../http/media-type";
import { parseBody, unlockBody } from "./schema";

/**
 * Password-protected links: what a GET of one answers (a small form for a browser, 401
 * `password-required` for an API client) and the check of a password sent back (POST /{code}),
 * whose attempts are limited per client and link and per link. The password is hashed with
 * argon2id (Bun.password) and never stored, logged, put in an event, a URL or an export.
 */
export const ATTEMPTS_PER_CLIENT_PER_MIN = 5;
export const ATTEMPTS_PER_LINK_PER_MIN = 30;
/** A password form or JSON is a few bytes; more is not a password. */
const MAX_BODY_BYTES = 4096;

export function hashPassword(password: string): Promise<string> {
  return Bun.password.hash(password, { algorithm: "argon2id" });
}

/** The answer to a request for a protected link that brought no (right) password. */
export function passwordAnswer(request: Request, code: string, wrong: boolean): Response {
  if (!wantsHtml(request)) throw new AppError("password-required", wrong ? "the password is not right" : `short URL ${JSON.stringify(code)} needs a password: POST it as password`);
  const url = new URL(request.url);
  return new Response(passwordPage(`${url.pathname}${url.search}`, wrong), { status: wrong ? 401 : 200, headers: PAGE_HEADERS });
}

/** The password a POST /{code} carries: a form field (browsers) or JSON `{"password": ...}`. */
export async function sentPassword(request: Request): Promise<string> {
  const { type } = mediaTypeOf(request.headers.get("content-type"));
  if (type === "application/x-www-form-urlencoded") return parseBody(unlockBody, Object.fromEntries(new URLSearchParams((await request.text()).slice(0, MAX_BODY_BYTES)))).password;
  if (type !== "application/json") throw new AppError("unsupported-media-type", "send the password as application/x-www-form-urlencoded or application/json");
  return parseBody(unlockBody, await readJsonBody(request, MAX_BODY_BYTES)).password;
}

/** Charges one attempt to the client on this link and to the link; a 429 past either limit. */
export async function chargeAttempt(count: WindowCounter, code: string, client: string): Promise<void> {
  const minute = Math.floor(Date.now() / 60_000);
  const [mine, all] = await Promise.all([count(`pw:${code}:${client}:${minute}`, 120), count(`pw:${code}:${minute}`, 120)]);
  if (mine > ATTEMPTS_PER_CLIENT_PER_MIN || all > ATTEMPTS_PER_LINK_PER_MIN) {
    throw new AppError("rate-limited", `too many password attempts on this link; wait a minute`, { retryAfterSeconds: 60, headers: { "retry-after": "60" } });
  }
}
