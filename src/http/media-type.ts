import { AppError } from "../errors";

/**
 * A Content-Type header's media type (lowercase) and its charset parameter (lowercase, unquoted;
 * null when absent). RFC 9110 §8.3: parameter names are case-insensitive and a value may be a
 * quoted string.
 *
 * @example
 *   mediaTypeOf('application/json; Charset="UTF-8"') // { type: "application/json", charset: "utf-8" }
 */
export function mediaTypeOf(header: string | null): { type: string; charset: string | null } {
  const value = header ?? "";
  const semi = value.indexOf(";");
  const type = (semi < 0 ? value : value.slice(0, semi)).trim().toLowerCase();
  let charset: string | null = null;
  if (semi >= 0) {
    for (const match of value.slice(semi).matchAll(/;\s*([!#$%&'*+.^_`|~\w-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]*)/g)) {
      if (match[1]!.toLowerCase() !== "charset") continue;
      const raw = match[2]!;
      charset = (raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, "$1") : raw).trim().toLowerCase();
    }
  }
  return { type, charset };
}

/**
 * Bodies are read as UTF-8, so a client that declares another charset (utf-16, latin1, ...) is
 * told so (415) instead of having its bytes decoded as something they are not.
 */
export function requireUtf8(charset: string | null): void {
  if (charset === null || charset === "utf-8" || charset === "utf8") return;
  throw new AppError("unsupported-media-type", `charset ${JSON.stringify(charset)} is not supported; send UTF-8`);
}
