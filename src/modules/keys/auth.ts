import { AppError } from "../../errors";
import type { Principal } from "../../domain/api-key";
import type { KeyRing } from "./key-ring";

/**
 * The API key a request carries, as `Authorization: Bearer <key>` or `X-API-Key: <key>`. No key
 * is anonymous (null); a key that is wrong or revoked is a 401, never silently anonymous.
 */
export async function principalOf(request: Request, keys: KeyRing): Promise<Principal | null> {
  const text = credentialOf(request);
  return text === null ? null : verifiedKey(text, keys, request);
}

/** The credential a request carries: `Authorization: Bearer <text>` or `X-API-Key: <text>`. */
export function credentialOf(request: Request): string | null {
  const header = request.headers.get("authorization");
  const text = header !== null && /^bearer /i.test(header) ? header.slice(7).trim() : request.headers.get("x-api-key")?.trim();
  return text === undefined || text === "" ? null : text;
}

/**
 * The key's principal, or null when the text is not an active key; 503 when keys cannot be
 * checked. With the request, a key this instance does not already know is first charged to the
 * client address (429 when that budget is spent: wrong keys are rate-limited before any lookup).
 */
export function keyOrNull(text: string, keys: KeyRing, request?: Request): Promise<Principal | null> {
  return keys.verify(text, request).catch((error: unknown) => {
    if (error instanceof AppError) throw error;
    throw new AppError("storage-unavailable", "cannot check the API key right now; try again", { retryable: true, retryAfterSeconds: 1, cause: error });
  });
}

/** The key's principal; 401 when the text is not an active key, 429 as keyOrNull, 503 when keys cannot be checked. */
export async function verifiedKey(text: string, keys: KeyRing, request?: Request): Promise<Principal> {
  const principal = await keyOrNull(text, keys, request);
  if (principal === null) throw new AppError("unauthorized", "the API key is not valid (unknown or revoked)", { headers: { "www-authenticate": "Bearer" } });
  return principal;
}

/** A route that needs a key: 401 without one. */
export async function requireKey(request: Request, keys: KeyRing): Promise<Principal> {
  const principal = await principalOf(request, keys);
  if (principal === null) throw new AppError("unauthorized", "this route needs an API key: send Authorization: Bearer <key> (or X-API-Key)", { headers: { "www-authenticate": "Bearer" } });
  return principal;
}
