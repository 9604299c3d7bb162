/**
 * Every Redis name the system uses, in one place: the cache's keys, the rate limiter's buckets,
 * the instances' shared figures, and the pub/sub channels. Instances of different versions share
 * these names during a rolling restart, so a change here is a change of the wire format.
 */

/** A link on its code's shard (see link-cache.ts for the value's format). */
export const linkKey = (code: string) => `l:${code}`;
/** The old long-URL dedupe shortcut; only ever deleted now (see link-cache.ts). */
export const urlKey = (urlHashHex: string) => `u:${urlHashHex}`;
/** A GCRA bucket: `bucket` names the limit, `client` whom it counts (an address or `key:<id>`). */
export const rateKey = (bucket: string, client: string) => `rl:${bucket}:${client}`;
/** The day's salt of visitor ids (`day`: YYYY-MM-DD, UTC); it expires with its day. */
export const visitorSaltKey = (day: string) => `shorten:salt:${day}`;
/** The hash in which each instance writes its figures (a field per instance). */
export const INSTANCE_FIGURES_KEY = "shorten:metrics:instances";

/** Batched events between instances. */
export const EVENTS_CHANNEL = "shorten:events";
/** Codes whose hot-link cache entries every instance must drop. */
export const INVALIDATION_CHANNEL = "shorten:invalidate";
/** Ids of revoked API keys. */
export const KEYS_CHANNEL = "shorten:keys";
/** Blocklist changes (the catalog poll is the guarantee). */ export const BLOCKLIST_CHANNEL = "shorten:blocklist";
/** Ring changes pushed by the mover (the catalog poll is the guarantee). */
export const TOPOLOGY_CHANNEL = "shorten:topology";
