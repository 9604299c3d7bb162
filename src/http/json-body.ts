import { AppError } from "../errors";
import { mediaTypeOf, requireUtf8 } from "./media-type";

/**
 * Reads a JSON request body with the checks a public endpoint needs, in the order a client
 * would want to hear about them: media type and charset (415), size (413, before and while reading),
 * encoding and syntax (400).
 */
export async function readJsonBody(request: Request, maxBytes: number): Promise<unknown> {
  const { type: mediaType, charset } = mediaTypeOf(request.headers.get("content-type"));
  if (mediaType !== "application/json" && !/^application\/[\w.+-]+\+json$/.test(mediaType)) {
    throw new AppError("unsupported-media-type", `content-type must be application/json, got ${JSON.stringify(mediaType || "none")}`);
  }
  requireUtf8(charset);
  const length = request.headers.get("content-length");
  if (length !== null && Number(length) > maxBytes) throw tooLarge(maxBytes);
  // With a declared length the server already bounds the body; only a chunked one is counted as it streams.
  const bytes = length !== null ? new Uint8Array(await request.arrayBuffer()) : await readLimited(request, maxBytes);
  if (bytes.byteLength > maxBytes) throw tooLarge(maxBytes);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new AppError("invalid-json", "body is not valid UTF-8");
  }
  if (text.trim() === "") throw new AppError("invalid-json", "body is empty; send a JSON object");
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new AppError("invalid-json", `body is not valid JSON: ${(error as Error).message}`);
  }
}

async function readLimited(request: Request, maxBytes: number): Promise<Uint8Array> {
  if (!request.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of request.body as unknown as AsyncIterable<Uint8Array>) {
    total += chunk.byteLength;
    if (total > maxBytes) throw tooLarge(maxBytes);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function tooLarge(maxBytes: number): AppError {
  return new AppError("payload-too-large", `body is larger than ${maxBytes} bytes`);
}
