import { readFileSync } from "node:fs";
import { LRUCache } from "lru-cache";
import { Reader, type Response } from "maxmind";

/**
 * The ISO country of an address from the MMDB shipped in an npm package (no download, ever),
 * read on first use: a server whose links ask no country never holds the 8 MB database.
 * Null for an unknown or malformed address (a forged X-Forwarded-For from a trusted hop).
 * `remember`: how many addresses' answers to keep (the same clients come back request after
 * request to the redirect rules, flush after flush to the analytics worker).
 */
export function countryLookup(file: string, remember = 0): (ip: string) => string | null {
  let reader: Reader<Response> | null = null;
  const lookup = (ip: string): string | null => {
    reader ??= new Reader(readFileSync(file));
    try {
      // The @ip-location-db databases name the field country_code (MaxMind's own: country.iso_code).
      return (reader.get(ip) as { country_code?: string } | null)?.country_code ?? null;
    } catch {
      return null;
    }
  };
  if (remember === 0) return lookup;
  const seen = new LRUCache<string, string>({ max: remember });
  return (ip) => {
    const known = seen.get(ip);
    if (known !== undefined) return known === "" ? null : known;
    const country = lookup(ip);
    seen.set(ip, country ?? "");
    return country;
  };
}
