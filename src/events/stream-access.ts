/**
 * Who may hear what on /ws. Pure: the gateway asks it, tests call it directly.
 *
 * Topics a client names: `events`, `reads`, `writes` (every link's events), `feed` (the latest
 * of them, a sample for a live view), `metrics` and
 * `topology` (the cluster) need `everything` (an admin key, the admin token, or public mode);
 * `mine` (the events of the links the key owns) needs a key. On the server `mine` is the Bun
 * topic `owner:<keyId>`, so one owner's sockets never share a topic with another's.
 */
export type StreamTopic = "events" | "reads" | "writes" | "feed" | "metrics" | "topology" | "mine";
export const STREAM_TOPICS: readonly StreamTopic[] = ["events", "reads", "writes", "feed", "metrics", "topology", "mine"];

/** What a connection may see: everything (admin or public mode), and/or one key's own links. */
export interface StreamAccess {
  everything: boolean;
  keyId: string | null;
}

export function defaultTopics(access: StreamAccess): StreamTopic[] {
  return access.everything ? ["events", "metrics"] : ["mine"];
}

/** Splits requested topic names into those this access may hold and those it may not. */
export function grant(access: StreamAccess, requested: readonly StreamTopic[]): { granted: StreamTopic[]; refused: StreamTopic[] } {
  const granted: StreamTopic[] = [];
  const refused: StreamTopic[] = [];
  for (const topic of requested) (mayHold(access, topic) ? granted : refused).push(topic);
  return { granted, refused };
}

function mayHold(access: StreamAccess, topic: StreamTopic): boolean {
  return topic === "mine" ? access.keyId !== null : access.everything;
}

/** The Bun pub/sub topic behind a client's topic name. */
export function busTopic(topic: StreamTopic, access: StreamAccess): string {
  return topic === "mine" ? ownerTopic(access.keyId!) : topic;
}

export const OWNER_TOPIC_PREFIX = "owner:";

export function ownerTopic(keyId: string): string {
  return OWNER_TOPIC_PREFIX + keyId;
}

/** The topic names in a list, or null when anything in it is not one (or it is not a list of strings). */
export function topicList(value: unknown): StreamTopic[] | null {
  if (!Array.isArray(value)) return null;
  const topics = value.filter((t): t is StreamTopic => typeof t === "string" && (STREAM_TOPICS as readonly string[]).includes(t));
  return topics.length === value.length ? topics : null;
}

/** `?topics=a,b` of the upgrade URL; null when absent, empty or naming an unknown topic. */
export function topicsParam(raw: string | null): StreamTopic[] | null {
  if (raw === null || raw.trim() === "") return null;
  const list = topicList(raw.split(",").map((s) => s.trim()));
  return list === null || list.length === 0 ? null : [...new Set(list)];
}
