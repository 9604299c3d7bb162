import { newApiKey, type KeyScope } from "../../domain/api-key";
import type { PgNode } from "../../storage/nodes";
import { insertKey, listKeys, revokeKey } from "../../storage/key-rows";

/**
 * API key administration on the catalog: a new key's text is returned once and only its hash is
 * stored; a revocation is announced (`announce`, the keys channel) so every instance drops the
 * key at once, and instances that miss it find it at their next poll.
 */
export class KeyAdmin {
  constructor(private readonly deps: { catalog: PgNode; announce: (keyId: string) => Promise<unknown> }) {}

  async create(name: string, scope: KeyScope = "user") {
    const key = newApiKey((n) => crypto.getRandomValues(new Uint8Array(n)));
    await insertKey(this.deps.catalog, { id: key.id, name, scope, hash: key.hash });
    return key;
  }

  list() {
    return listKeys(this.deps.catalog);
  }

  async revoke(id: string): Promise<{ revoked: boolean; announced: boolean }> {
    const revoked = await revokeKey(this.deps.catalog, id);
    const announced = revoked ? await this.deps.announce(id).then(() => true, () => false) : false;
    return { revoked, announced };
  }
}
