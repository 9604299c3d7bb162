import { composeKeyAdmin } from "../../src/composition/key-admin";
import type { Config } from "../../src/config";
import type { KeyScope } from "../../src/domain/api-key";

/**
 * Makes and revokes real API keys in the test cluster's catalog, as `bun run keys` does.
 *
 * @example const key = await makeKey(sys.config, "tests"); fetch(url, { headers: { authorization: `Bearer ${key.text}` } })
 */
export async function makeKey(config: Config, name = "test", scope: KeyScope = "user"): Promise<{ id: string; text: string }> {
  const admin = composeKeyAdmin(config);
  try {
    const key = await admin.create(name, scope);
    return { id: key.id, text: key.text };
  } finally {
    await admin.close();
  }
}

export async function revokeKeyNow(config: Config, id: string): Promise<void> {
  const admin = composeKeyAdmin(config);
  try {
    await admin.revoke(id);
  } finally {
    await admin.close();
  }
}
