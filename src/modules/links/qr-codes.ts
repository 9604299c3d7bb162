import { createHash } from "node:crypto";
import QRCode from "qrcode";
import { z } from "zod";

/**
 * QR codes of short URLs (the `qrcode` library), as SVG or PNG. The encoded URL carries the
 * marker `?qr=1`, which the redirect ignores and click analytics counts as `source: qr`, so a
 * link's owner sees how many clicks came from print.
 */
export const QR_MARKER = "qr=1";

export const qrQuery = z.object({
  format: z.enum(["svg", "png"], { error: "format must be svg or png" }).default("svg"),
  size: z.coerce.number({ error: "size must be a number" }).int("size must be an integer").min(64, "size must be >= 64").max(2048, "size must be <= 2048").default(320),
  margin: z.coerce.number({ error: "margin must be a number" }).int("margin must be an integer").min(0, "margin must be >= 0").max(16, "margin must be <= 16").default(4),
});
export type QrOptions = z.infer<typeof qrQuery>;

export function scanUrl(shortUrl: string): string {
  return `${shortUrl}?${QR_MARKER}`;
}

/** The image and its entity tag (the same text and options make the same image). */
export async function qrImage(text: string, options: QrOptions): Promise<{ body: string | Uint8Array; type: string; etag: string }> {
  const etag = `"${createHash("sha256").update(`${options.format}\u0000${options.size}\u0000${options.margin}\u0000${text}`).digest("base64url").slice(0, 27)}"`;
  const rendering = { margin: options.margin, width: options.size, errorCorrectionLevel: "M" as const };
  if (options.format === "svg") return { body: await QRCode.toString(text, { ...rendering, type: "svg" }), type: "image/svg+xml", etag };
  return { body: new Uint8Array(await QRCode.toBuffer(text, { ...rendering, type: "png" })), type: "image/png", etag };
}
