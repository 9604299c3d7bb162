/**
 * The CSV exports an import recognises by their header row: ours, and those of the shorteners a
 * team moves from (Bitly, Shlink, Kutt, YOURLS), each mapped onto a /create body. A foreign
 * record also names the code it had there (`keep`): the import makes it the link's alias when it
 * is free, so a printed short URL keeps working once its domain points here.
 *
 * The foreign columns are those each project documents for its links: Bitly's Bitlink fields
 * (`id`, `link`, `long_url`, `title`, `created_at`, `archived`, `tags`, `custom_bitlinks`),
 * shlink-web-client's short URL export (`createdAt`, `domain`, `shortCode`, `shortUrl`,
 * `longUrl`, `title`, `tags` joined by `|`, `visits`), Kutt's link fields (`address`, `target`,
 * `description`, `link`, `visit_count`, `expire_in`, `created_at`, …) and the YOURLS URL table
 * (`keyword`, `url`, `title`, `timestamp`, `ip`, `clicks`).
 */
export type FormatName = "shorten" | "bitly" | "shlink" | "kutt" | "yourls";

export interface ImportFormat {
  name: FormatName;
  /** A record's cells as a /create body (absent cells left out), and the code to keep. */
  /** `cell`: a column's non-empty value; `has`: does the header name the column. */
  read(cell: (column: string) => string | undefined, has: (column: string) => boolean): { item: Record<string, unknown>; keep?: string };
}

/** Columns of our own export and of a hand-written file; others are ignored. */
const OWN_COLUMNS = ["url", "long_url", "alias", "short_code", "expires_at", "max_visits", "title", "tags"] as const;

/** A tags cell: tags separated by `|`, commas or spaces (each project joins them its own way). */
export function splitTags(cell: string | undefined): string[] | undefined {
  if (cell === undefined) return undefined;
  const tags = cell.split(/[|,;\s]+/).filter((t) => t !== "");
  return tags.length === 0 ? undefined : tags;
}

/** The last path segment of a short URL (`https://bit.ly/abc` or `bit.ly/abc` → `abc`). */
export function codeOfShortUrl(shortUrl: string | undefined): string | undefined {
  if (shortUrl === undefined) return undefined;
  const path = shortUrl.replace(/^[a-z][a-z0-9+.-]*:\/\//i, "").replace(/[?#].*$/, "");
  const segment = path.split("/").filter((p) => p !== "").slice(1).at(-1);
  return segment === undefined || segment === "" ? undefined : decodeSafely(segment);
}

function decodeSafely(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * Another project's tags made into ours: lowercased, anything outside a-z 0-9 - turned into a
 * hyphen, at most 32 characters and 10 tags. A tag is how a link is found, so it is kept in a
 * close form rather than costing the link its import.
 */
export function foreignTags(cell: string | undefined, separators: RegExp): string[] | undefined {
  if (cell === undefined) return undefined;
  const tags = cell
    .split(separators)
    .map((t) => t.trim().toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 32))
    .filter((t) => t !== "");
  return tags.length === 0 ? undefined : [...new Set(tags)].slice(0, 10);
}

/** Another project's title, cut to ours (200 characters) and without control characters. */
function foreignTitle(cell: string | undefined): string | undefined {
  const title = cell?.replace(/[\u0000-\u001f\u007f]+/g, " ").trim().slice(0, 200);
  return title === "" ? undefined : title;
}

const withDefined = (item: Record<string, unknown>) => Object.fromEntries(Object.entries(item).filter(([, v]) => v !== undefined));

const FORMATS: Array<{ name: FormatName; requires: string[]; format: ImportFormat }> = [
  {
    name: "shlink",
    requires: ["longurl", "shortcode"],
    format: { name: "shlink", read: (c) => ({ item: withDefined({ url: c("longurl"), title: foreignTitle(c("title")), tags: foreignTags(c("tags"), /\|/) }), keep: c("shortcode") }) },
  },
  {
    name: "kutt",
    requires: ["target", "address"],
    format: { name: "kutt", read: (c) => ({ item: withDefined({ url: c("target"), title: foreignTitle(c("description")), expires_at: futureOnly(c("expire_in")) }), keep: c("address") }) },
  },
  {
    name: "yourls",
    requires: ["keyword", "url"],
    format: { name: "yourls", read: (c) => ({ item: withDefined({ url: c("url"), title: foreignTitle(c("title")) }), keep: c("keyword") }) },
  },
  {
    name: "bitly",
    requires: ["long_url", "link"],
    format: {
      name: "bitly",
      read: (c) => ({
        item: withDefined({ url: c("long_url"), title: foreignTitle(c("title")), tags: foreignTags(c("tags"), /[,|;]/) }),
        // A custom back-half is the code people were given; else the generated one.
        keep: codeOfShortUrl(splitTags(c("custom_bitlinks"))?.[0]) ?? codeOfShortUrl(c("link")) ?? codeOfShortUrl(c("id")),
      }),
    },
  },
];

/** A foreign expiry that has passed is dropped rather than refused: the link itself still moves. */
function futureOnly(cell: string | undefined): string | undefined {
  if (cell === undefined) return undefined;
  const at = Date.parse(cell);
  return Number.isFinite(at) && at > Date.now() ? new Date(at).toISOString() : undefined;
}

/** The format a header row names, or null when it has no URL column any format knows. */
export function formatOf(header: readonly string[]): { format: ImportFormat; index: Map<string, number> } | null {
  const names = header.map((h) => h.trim().toLowerCase());
  const index = new Map<string, number>();
  names.forEach((name, i) => index.has(name) || index.set(name, i));
  const foreign = FORMATS.find((f) => f.requires.every((column) => index.has(column)));
  if (foreign) return { format: foreign.format, index };
  if (!index.has("url") && !index.has("long_url")) return null;
  return { format: OWN, index };
}

const OWN: ImportFormat = {
  name: "shorten",
  read(cell, has) {
    const item: Record<string, unknown> = {};
    for (const column of OWN_COLUMNS) {
      const value = cell(column);
      if (value !== undefined) item[column] = value;
    }
    if (typeof item.max_visits === "string" && item.max_visits.trim() !== "" && Number.isFinite(Number(item.max_visits))) item.max_visits = Number(item.max_visits);
    if (typeof item.tags === "string") item.tags = splitTags(item.tags) ?? [];
    const flag = typeof item.alias === "string" ? item.alias.toLowerCase() : "";
    if (has("short_code") && (flag === "true" || flag === "false")) item.alias = flag === "true";
    return { item };
  },
};
