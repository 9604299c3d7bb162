import { Elysia } from "elysia";
import { z } from "zod";
import { isLinkPathShape } from "../../domain/alias";
import { AppError } from "../../errors";
import { documented } from "../../http/api-doc";
import { readJsonBody } from "../../http/json-body";
import type { PgNode } from "../../storage/nodes";
import { insertReport, newestReports } from "../../storage/report-rows";
import type { AccessControl } from "../keys/access";
import type { WindowCounter } from "../ratelimit/window-counter";
import { parseBody, parseQuery } from "../links/schema";

/** Reports one client address may file per hour. */
export const REPORTS_PER_CLIENT_PER_HOUR = 10;

export const reportBody = z.object({
  code: z.string({ error: "code must be a string" }).refine(isLinkPathShape, "code is not a short code"),
  reason: z.string({ error: "reason must be a string" }).trim().min(1, "reason must not be empty").max(1000, "reason must be at most 1000 characters"),
});
const reportsQuery = z.object({ limit: z.coerce.number({ error: "limit must be a number" }).int("limit must be an integer").min(1, "limit must be >= 1").max(500, "limit must be <= 500").default(50) });
const reportsView = z.object({
  total: z.number(),
  reports: z.array(z.object({ id: z.string(), code: z.string(), reason: z.string(), created_at: z.string() })).meta({ description: "newest first" }),
});

/**
 * Abuse reports, as dub has a report link: POST /api/report from anyone (no key needed), limited
 * per client address, answered 202 whether or not the code exists (no enumeration); the
 * operators read them with GET /api/admin/reports (the access of /api/metrics) and see their
 * count on the dashboard.
 */
export function reportRoutes(deps: { catalog: () => PgNode; access: AccessControl; count: WindowCounter; clientKey: (request: Request) => string; maxBodyBytes: number }) {
  return new Elysia({ name: "reports" })
    .post(
      "/api/report",
      async ({ request, set }) => {
        const body = parseBody(reportBody, await readJsonBody(request, deps.maxBodyBytes));
        const hour = Math.floor(Date.now() / 3_600_000);
        if ((await deps.count(`report:${deps.clientKey(request)}:${hour}`, 7200)) > REPORTS_PER_CLIENT_PER_HOUR) {
          throw new AppError("rate-limited", `at most ${REPORTS_PER_CLIENT_PER_HOUR} reports an hour from one address`, { retryAfterSeconds: 3600, headers: { "retry-after": "3600" } });
        }
        await insertReport(deps.catalog(), body.code, body.reason);
        set.status = 202;
        return { received: true };
      },
      {
        parse: "none",
        detail: documented({
          summary: "Report a link as abusive",
          description: `No key needed; at most ${REPORTS_PER_CLIENT_PER_HOUR} an hour per client address. 202 whether or not the code exists.`,
          body: reportBody,
          responses: { 202: z.object({ received: z.literal(true) }).meta({ description: "recorded for the operators" }) },
          errors: [400, 413, 415, 429, 503],
        }),
      },
    )
    .get(
      "/api/admin/reports",
      async ({ request, query }) => {
        await deps.access.requireObserver(request);
        const q = parseQuery(reportsQuery, query);
        const { total, reports } = await newestReports(deps.catalog(), q.limit);
        return { total, reports: reports.map((r) => ({ id: r.id, code: r.code, reason: r.reason, created_at: r.createdAt.toISOString() })) };
      },
      {
        detail: documented({ summary: "Abuse reports, newest first, and how many in all", auth: true, query: reportsQuery, responses: { 200: reportsView }, errors: [400, 401, 403, 503] }),
      },
    );
}
