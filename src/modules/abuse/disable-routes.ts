import { Elysia } from "elysia";
import { z } from "zod";
import { documented } from "../../http/api-doc";
import { readJsonBody } from "../../http/json-body";
import type { AccessControl } from "../keys/access";
import type { LinkManager } from "../links/link-manager";
import { parseBody } from "../links/schema";
import { linkJson, linkView } from "../links/views";

export const disableBody = z
  .object({
    disabled: z.boolean({ error: "disabled must be true or false" }),
    reason: z.string({ error: "reason must be a string" }).trim().min(1, "reason must not be empty").max(500, "reason must be at most 500 characters").optional(),
  })
  .refine((b) => !b.disabled || b.reason !== undefined, { message: "disabling a link needs a reason (its owner and its visitors are shown it)" });

/**
 * The operators' routes on links (admin keys or ADMIN_TOKEN, whatever OBSERVABILITY_PUBLIC says):
 * PATCH /api/admin/links/{code} disables a link with a reason (410 everywhere at once, an event,
 * the reason in its owner's view) or enables it again.
 */
export function adminLinkRoutes(deps: { manager: LinkManager; access: AccessControl; publicBaseUrl: string; maxBodyBytes: number }) {
  return new Elysia({ name: "admin-links" }).patch(
    "/api/admin/links/:code",
    async ({ request, params }) => {
      await deps.access.requireAdmin(request);
      const body = parseBody(disableBody, await readJsonBody(request, deps.maxBodyBytes));
      const link = await deps.manager.setDisabled(String(params.code ?? ""), body.disabled ? body.reason! : null);
      return linkJson(link, deps.publicBaseUrl);
    },
    {
      parse: "none",
      detail: documented({
        summary: "Disable a link (abuse), or enable it again",
        description: "Admin only. A disabled link answers 410 (a page for browsers) on every instance at once; its owner sees the reason in the link's details.",
        auth: true,
        body: disableBody,
        responses: { 200: linkView.meta({ description: "the link after the change" }) },
        errors: [400, 401, 403, 404, 413, 415, 503],
      }),
    },
  );
}
