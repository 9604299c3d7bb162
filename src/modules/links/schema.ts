import { z } from "zod";
import { AppError } from "../../errors";

/** POST /create body: `{"url": "..."}`, with `long_url` accepted as an alias. Extra keys are ignored. */
export const createLinkBody = z
  .object({
    url: z.string({ error: "url must be a string" }).optional(),
    long_url: z.string({ error: "long_url must be a string" }).optional(),
  })
  .refine((b) => b.url !== undefined || b.long_url !== undefined, { message: "body needs a url (or long_url) field" })
  .refine((b) => b.url === undefined || b.long_url === undefined || b.url === b.long_url, { message: "url and long_url differ; send one" });

export function parseCreateBody(body: unknown): string {
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new AppError("invalid-body", "body must be a JSON object");
  const parsed = createLinkBody.safeParse(body);
  if (!parsed.success) throw new AppError("invalid-body", parsed.error.issues[0]!.message);
  return (parsed.data.url ?? parsed.data.long_url)!;
}
