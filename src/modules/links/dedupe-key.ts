import { createHash } from "node:crypto";

/**
 * The url_index key of a long URL for one owner: SHA-256 of the URL for anonymous links (as
 * before keys existed, so existing rows keep deduping), of `key:<id>\n<url>` for a key's links.
 * So dedupe never hands a key another owner's code, which it could not manage.
 */
export function dedupeKey(owner: string | null, longUrl: string): Buffer {
  return createHash("sha256").update(owner === null ? longUrl : `key:${owner}\n${longUrl}`).digest();
}
