import type { NotFoundCounter } from "../modules/clicks/not-found-counter";
import type { LinkObserver } from "../domain/outcomes";
import type { CacheMetrics } from "../observability/cache-metrics";
import type { EventBus } from "../events/event-bus";
import type { EventFactory } from "../events/event-factory";

/**
 * What happens after every read and write, on the request's own turn: the cache counters, a 404
 * for each unknown code, and an event when someone listens. All in memory; nothing here awaits
 * I/O (the bus and the click flusher write in batches, on timers). A click is counted where the
 * redirect is sent (RedirectDeps.onServed), not here: a protected link's form is a read too.
 *
 * @example
 *   const observer = linkObserver({ cache, notFound, bus, events });
 *   const links = new LinkService({ ..., observer });
 */
export function linkObserver(deps: { cache: CacheMetrics; notFound: NotFoundCounter; bus: EventBus; events: EventFactory }): LinkObserver {
  const { cache, notFound, bus, events } = deps;
  return {
    onRead: (o) => {
      cache.recordRead(o.shard, o.source, o.status === "OK" || o.status === "GONE");
      if (o.status === "NOT_FOUND") notFound.record(o.code);
      if (bus.wanted) bus.emit(events.read(o, cache.hitCount, cache.missCount));
      else if (bus.feedWanted) {
        const hits = cache.hitCount;
        const misses = cache.missCount;
        bus.offer(() => events.read(o, hits, misses));
      }
    },
    onWrite: (o) => {
      cache.recordWrite(o.shard, o.status === "OK");
      if (bus.wanted) bus.emit(events.write(o));
      else if (bus.feedWanted) bus.offer(() => events.write(o));
    },
    onChange: (o) => {
      if (bus.wanted) bus.emit(events.change(o));
      else if (bus.feedWanted) bus.offer(() => events.change(o));
    },
  };
}
