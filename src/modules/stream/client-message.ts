import { z } from "zod";
import { STREAM_TOPICS, type StreamTopic } from "../../events/stream-access";

const topics = z.array(z.enum(STREAM_TOPICS as [StreamTopic, ...StreamTopic[]]));

const authMessage = z.object({ auth: z.string() }).transform((m) => ({ kind: "auth" as const, credential: m.auth }));
const topicsMessage = z
  .object({ subscribe: topics.optional(), unsubscribe: topics.optional() })
  .refine((m) => m.subscribe !== undefined || m.unsubscribe !== undefined)
  .transform((m) => ({ kind: "topics" as const, subscribe: m.subscribe ?? [], unsubscribe: m.unsubscribe ?? [] }));

/** What a client may send on /ws: `{"auth":"<key>"}`, or `{"subscribe":[...]}` and/or `{"unsubscribe":[...]}`. */
export const clientMessage = z.union([authMessage, topicsMessage]);
export type ClientMessage = z.output<typeof clientMessage>;

/** The message in a frame's text, or null when it is not JSON or not one of the messages above. */
export function parseClientMessage(text: string): ClientMessage | null {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return null;
  }
  const parsed = clientMessage.safeParse(json);
  return parsed.success ? parsed.data : null;
}
