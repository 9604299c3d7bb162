import { readFileSync } from "node:fs";
import { Reader, type Response } from "maxmind";

/**
 * The ISO country of an address from the MMDB shipped in an npm package (no download, ever),
 * read on first use: a server whose links ask no country never holds the 8 MB database.
 * Null for an unknown or malformed address (a forged X-Forwarded-For from a trusted hop).
 */
export function countryLookup(file: string): (ip: string) => string | null {
  let reader: Reader<Response> | null = null;
  return (ip) => {
    reader ??= new Reader(readFileSync(file));
    try {
      // The @ip-location-db databases name the field country_code (MaxMind's own: country.iso_code).
      return (reader.get(ip) as { country_code?: string } | null)?.country_code ?? null;
    } catch {
      return null;
    }
  };
}
