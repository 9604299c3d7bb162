import { createHash, timingSafeEqual } from "node:crypto";
import { AppError } from "../../errors";
import type { StreamAccess } from "../../events/stream-access";
import type { KeyRing } from "./key-ring";
import { credentialOf, keyOrNull, verifiedKey } from "./auth";

/**
 * Who may watch. Admin is the configured ADMIN_TOKEN or an API key of scope admin; an ordinary
 * key sees its own links only. Observability (the /ws all-events topics, /api/metrics, /metrics,
 * /api/topology) needs admin unless OBSERVABILITY_PUBLIC is on (local use).
 *
 * @example
 *   const access = new AccessControl({ keys, adminToken: config.ADMIN_TOKEN, observabilityPublic: false });
 *   await access.requireObserver(request); // 401 without a credential, 403 for an ordinary key
 */
export class AccessControl {
  constructor(private readonly deps: { keys: KeyRing; adminToken: string | undefined; observabilityPublic: boolean }) {}

  get observabilityPublic(): boolean {
    return this.deps.observabilityPublic;
  }

  /**
   * What a credential may see on the event stream; null when it is neither the admin token nor
   * an active key. Throws (503) only when keys cannot be checked right now.
   */
  async streamAccessOf(credential: string): Promise<StreamAccess | null> {
    if (this.isAdminToken(credential)) return { everything: true, keyId: null };
    const principal = await keyOrNull(credential, this.deps.keys);
    if (principal === null) return null;
    return { everything: principal.scope === "admin" || this.deps.observabilityPublic, keyId: principal.keyId };
  }

  /** Whether the request carries an admin credential; a wrong or revoked key is a 401. */
  async isAdmin(request: Request): Promise<boolean> {
    const credential = credentialOf(request);
    if (credential === null) return false;
    if (this.isAdminToken(credential)) return true;
    return (await verifiedKey(credential, this.deps.keys, request)).scope === "admin";
  }

  /** Observability routes: open in public mode, else admin only (401 without a credential, 403 for an ordinary key). */
  async requireObserver(request: Request): Promise<void> {
    if (this.deps.observabilityPublic) return;
    if (credentialOf(request) === null) {
      throw new AppError("unauthorized", "this route needs an admin key: send Authorization: Bearer <key> (create one with `bun run keys create --name NAME --admin`)", {
        headers: { "www-authenticate": "Bearer" },
      });
    }
    if (!(await this.isAdmin(request))) throw new AppError("forbidden", "this route needs an admin key; this key is an ordinary one");
  }

  /** Admin routes: an admin key or ADMIN_TOKEN, public mode or not (401 without a credential, 403 for an ordinary key). */
  async requireAdmin(request: Request): Promise<void> {
    if (credentialOf(request) === null) throw new AppError("unauthorized", "this route needs an admin key: send Authorization: Bearer <key>", { headers: { "www-authenticate": "Bearer" } });
    if (!(await this.isAdmin(request))) throw new AppError("forbidden", "this route needs an admin key; this key is an ordinary one");
  }

  // Constant time: both sides are hashed first, so their lengths match too.
  private isAdminToken(credential: string): boolean {
    const token = this.deps.adminToken;
    return token !== undefined && timingSafeEqual(digest(credential), digest(token));
  }
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}
