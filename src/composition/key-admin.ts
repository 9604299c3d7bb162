import type { Config } from "../config";
import { KeyAdmin } from "../modules/keys/key-admin";
import { applyMigrations } from "../storage/migrate";
import { closePgNode, createPgNode, settledClient } from "../storage/nodes";
import { KEYS_CHANNEL } from "../storage/redis-keys";
import type { KeyScope } from "../domain/api-key";
import { waitOutNodeFaults } from "../storage/node-fault-wait";
import { MIGRATIONS_DIR } from "./paths";

/** How long a key command waits out a node fault before it gives up with the node's error. */
const KEY_COMMAND_WAIT_MS = 120_000;
import { adminPublisher } from "./redis-clients";

/**
 * The third entry point: API key administration (`bun run keys`), on the catalog shard's primary,
 * announcing revocations over the bus so every instance drops a revoked key at once. A command
 * meeting a node fault (the catalog's primary down or failing over) waits, saying so through
 * `log`, and finishes once the catalog answers, for up to KEY_COMMAND_WAIT_MS.
 */
export function composeKeyAdmin(config: Config, log: (line: string) => void = () => {}) {
  const policy = { timeoutMs: Math.max(config.DB_TIMEOUT_MS, 5000), retries: 1, breakAfter: 5, halfOpenAfterMs: config.BREAKER_COOLDOWN_MS };
  const catalog = createPgNode("primary-0", "primary", config.shards[0]!.primary, policy, 1);
  const publisher = adminPublisher(config.EVENT_BUS_REDIS ?? config.shards[0]!.redis);
  const admin = new KeyAdmin({ catalog, announce: (id) => publisher.publish(KEYS_CHANNEL, id) });
  const patiently = <T>(step: () => Promise<T>) => waitOutNodeFaults(step, { log, pauseMs: 1000, giveUpAfterMs: KEY_COMMAND_WAIT_MS });
  return {
    /**
     * Migrates first: keys may be made before any server has started on a new cluster. A create
     * whose answer was lost to a fault is made again: the first key, never shown, is never used.
     */
    create: (name: string, scope: KeyScope = "user") =>
      patiently(async () => {
        await applyMigrations(await settledClient(catalog), MIGRATIONS_DIR);
        return admin.create(name, scope);
      }),
    list: () => patiently(() => admin.list()),
    revoke: (id: string) => patiently(() => admin.revoke(id)),
    async close() {
      publisher.disconnect();
      await closePgNode(catalog);
    },
  };
}
