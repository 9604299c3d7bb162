/**
 * The dimensions a click is broken down by, and the pure rules that turn request headers into
 * their values. Every click has exactly one value in every dimension (`unknown`, `direct` or
 * `other` when the request says nothing usable), so each breakdown sums to the clicks it covers.
 */
export const DIMENSIONS = ["country", "referrer", "device", "browser", "os", "language", "source", "bot"] as const;
export type Dimension = (typeof DIMENSIONS)[number];
/** The dimensions stored as breakdown rows; `bot` is the humans and bots every click row has. */
export type StoredDimension = Exclude<Dimension, "bot">;

/** One link's share of a flush, enriched: what the shard stores beside the click count. */
export interface LinkRollup {
  code: string;
  humans: number;
  bots: number;
  /** [dimension, value, clicks, humans] */
  dims: Array<[StoredDimension, string, number, number]>;
  /** Distinct visitor ids of the humans, as signed 64-bit decimal strings. */
  visitors: string[];
}

const MAX_HOST = 253;

/** The referring site: its host, lowercased, without `www.`; `direct` when there is none; `other` when it is not a URL. */
export function referrerHost(referrer: string | null): string {
  if (referrer === null || referrer.trim() === "") return "direct";
  if (!URL.canParse(referrer)) return "other";
  const url = new URL(referrer);
  if (url.protocol !== "http:" && url.protocol !== "https:") return url.protocol === "android-app:" ? url.hostname.slice(0, MAX_HOST) || "other" : "other";
  const host = url.hostname.toLowerCase();
  return (host.startsWith("www.") ? host.slice(4) : host).slice(0, MAX_HOST) || "other";
}

/** The primary language tag of the first Accept-Language entry (`en-GB,en;q=0.9` → `en`); `unknown` otherwise. */
export function primaryLanguage(acceptLanguage: string | null): string {
  if (acceptLanguage === null) return "unknown";
  const first = acceptLanguage.split(",", 1)[0]!.split(";", 1)[0]!.trim();
  const primary = first.split("-", 1)[0]!.toLowerCase();
  return /^[a-z]{2,3}$/.test(primary) ? primary : "unknown";
}
