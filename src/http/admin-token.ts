import { createHash, timingSafeEqual } from "node:crypto";

/**
 * Whether the request carries the configured admin token as `Authorization: Bearer <token>`,
 * compared in constant time (both sides hashed first, so their lengths match too). No token
 * configured: nobody is admin.
 */
export function isAdmin(request: Request, adminToken: string | undefined): boolean {
  if (adminToken === undefined) return false;
  const header = request.headers.get("authorization") ?? "";
  const given = header.toLowerCase().startsWith("bearer ") ? header.slice(7).trim() : "";
  return given !== "" && timingSafeEqual(digest(given), digest(adminToken));
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}
