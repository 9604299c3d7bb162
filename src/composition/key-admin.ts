import type { Config } from "../config";
import { KeyAdmin } from "../modules/keys/key-admin";
import { applyMigrations } from "../storage/migrate";
import { createPgNode } from "../storage/nodes";
import { KEYS_CHANNEL } from "../storage/redis-keys";
import type { KeyScope } from "../domain/api-key";
import { MIGRATIONS_DIR } from "./paths";
import { adminPublisher } from "./redis-clients";

/**
 * The third entry point: API key administration (`bun run keys`), on the catalog shard's primary,
 * announcing revocations over the bus so every instance drops a revoked key at once.
 */
export function composeKeyAdmin(config: Config) {
  const policy = { timeoutMs: Math.max(config.DB_TIMEOUT_MS, 5000), retries: 1, breakAfter: 5, halfOpenAfterMs: config.BREAKER_COOLDOWN_MS };
  const catalog = createPgNode("primary-0", "primary", config.shards[0]!.primary, policy, 1);
  const publisher = adminPublisher(config.EVENT_BUS_REDIS ?? config.shards[0]!.redis);
  const admin = new KeyAdmin({ catalog, announce: (id) => publisher.publish(KEYS_CHANNEL, id) });
  return {
    /** Migrates first: keys may be made before any server has started on a new cluster. */
    async create(name: string, scope: KeyScope = "user") {
      await applyMigrations(catalog.client, MIGRATIONS_DIR);
      return admin.create(name, scope);
    },
    list: () => admin.list(),
    revoke: (id: string) => admin.revoke(id),
    async close() {
      publisher.disconnect();
      await catalog.client.end({ timeout: 2 });
    },
  };
}
