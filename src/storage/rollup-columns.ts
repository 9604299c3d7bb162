import type { LinkRollup } from "../domain/click-dimensions";

/**
 * One shard's share of an analytics interval, as the items of the PostgreSQL array literals its
 * click batch writes through `unnest` (text without the braces, so pieces join with a comma).
 * They are made where the rollups are, in the analytics worker: the driver's own serialiser
 * escapes array elements one by one on the calling thread, and with a million links clicked in
 * an interval that was seconds of the request thread's time (measured: ~10 % of the server's CPU
 * samples under uniform traffic, and stalls of hundreds of milliseconds). The request thread now
 * passes these strings through as they are.
 */
export interface RollupColumns {
  /** Links, then per link: humans, bots. */
  links: number;
  codes: string;
  humans: string;
  bots: string;
  /** Dimension rows: link, dimension, value, clicks, humans. */
  dimRows: number;
  dimCodes: string;
  dimNames: string;
  dimValues: string;
  dimClicks: string;
  dimHumans: string;
  /** Visitor rows: link, visitor id (a signed 64-bit decimal). */
  visitorRows: number;
  visitorCodes: string;
  visitorIds: string;
}

const NEEDS_ESCAPE = /["\\]/;
const ESCAPED = /["\\]/g;

/** An element of a PostgreSQL array literal: always quoted (so `NULL`, commas, braces and spaces stay text), `"` and `\` escaped. */
export function quotedItem(value: string): string {
  return `"${NEEDS_ESCAPE.test(value) ? value.replace(ESCAPED, "\\$&") : value}"`;
}

/** The literal `{a,b,...}` of item texts (each a comma-joined piece; empty pieces are skipped). */
export function arrayLiteral(...pieces: readonly string[]): string {
  let out = "";
  for (const piece of pieces) if (piece !== "") out += out === "" ? piece : `,${piece}`;
  return `{${out}}`;
}

/** Quoted items of strings, comma-joined. */
export function textItems(values: readonly string[]): string {
  return values.map(quotedItem).join(",");
}

/** The columns of some links' rollups. */
export function rollupColumns(links: readonly LinkRollup[]): RollupColumns {
  const codes: string[] = [];
  const humans: number[] = [];
  const bots: number[] = [];
  const dimCodes: string[] = [];
  const dimNames: string[] = [];
  const dimValues: string[] = [];
  const dimClicks: number[] = [];
  const dimHumans: number[] = [];
  const visitorCodes: string[] = [];
  const visitorIds: string[] = [];
  for (const link of links) {
    const code = quotedItem(link.code);
    codes.push(code);
    humans.push(link.humans);
    bots.push(link.bots);
    for (const [name, value, clicks, dimHuman] of link.dims) {
      dimCodes.push(code);
      dimNames.push(name);
      dimValues.push(quotedItem(value));
      dimClicks.push(clicks);
      dimHumans.push(dimHuman);
    }
    for (const visitor of link.visitors) {
      visitorCodes.push(code);
      visitorIds.push(visitor);
    }
  }
  return {
    links: codes.length,
    codes: codes.join(","),
    humans: humans.join(","),
    bots: bots.join(","),
    dimRows: dimCodes.length,
    dimCodes: dimCodes.join(","),
    dimNames: dimNames.join(","),
    dimValues: dimValues.join(","),
    dimClicks: dimClicks.join(","),
    dimHumans: dimHumans.join(","),
    visitorRows: visitorCodes.length,
    visitorCodes: visitorCodes.join(","),
    visitorIds: visitorIds.join(","),
  };
}
