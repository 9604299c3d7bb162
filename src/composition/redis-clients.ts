import Redis from "ioredis";

const reconnect = (attempt: number) => Math.min(attempt * 100, 1000);

/** A client whose connection errors surface through its calls; the default handler would spam stderr. */
function quiet(client: Redis): Redis {
  client.on("error", () => {});
  return client;
}

/**
 * The server's connections to the event bus's Redis. Dedicated ones: a subscribed connection can
 * do nothing else, and the publisher fails fast (no offline queue) so a down bus never holds
 * events in memory. Ring changes, key revocations and cache invalidations get their own
 * subscriber, so those rare messages never queue behind event batches.
 */
export function busClients(url: string) {
  return {
    publisher: quiet(new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 1000, retryStrategy: reconnect })),
    events: quiet(new Redis(url, { maxRetriesPerRequest: null, retryStrategy: reconnect })),
    control: quiet(new Redis(url, { maxRetriesPerRequest: null, retryStrategy: reconnect })),
  };
}

/** The mover's publisher of ring changes: fail fast; the catalog poll is the guarantee. */
export function moverPublisher(url: string): Redis {
  return quiet(new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 1000 }));
}

/** Key administration's publisher of revocations: a short CLI run may wait for the connection. */
export function adminPublisher(url: string): Redis {
  return quiet(new Redis(url, { enableOfflineQueue: true, maxRetriesPerRequest: 1, commandTimeout: 2000 }));
}
