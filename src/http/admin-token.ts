import { createHash, timingSafeEqual } from "node:crypto";
import { AppError } from "../errors";

/**
 * Checks `Authorization: Bearer <token>` against the configured admin token in constant time
 * (both sides hashed first, so their lengths match too). Unset token: nobody is admin.
 */
export function requireAdmin(request: Request, adminToken: string | undefined): void {
  const header = request.headers.get("authorization") ?? "";
  const given = header.toLowerCase().startsWith("bearer ") ? header.slice(7).trim() : "";
  if (adminToken === undefined) throw new AppError("unauthorized", "this route needs an admin token, and ADMIN_TOKEN is not set on this server");
  if (given === "" || !timingSafeEqual(digest(given), digest(adminToken))) throw new AppError("unauthorized", "send the admin token as Authorization: Bearer <token>", { headers: { "www-authenticate": "Bearer" } });
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}
