/**
 * Edits and deletes behind the real HAProxy with three instances: once the PATCH or DELETE has
 * answered, no instance redirects to the old target, although every instance had the link in
 * its hot-link cache and Redis had it cached.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startFleet, type Fleet } from "../../harness/haproxy";
import { makeKey } from "../support/keys";
import { clusterConfig, uniqueUrl } from "../../harness/system";

let fleet: Fleet;
let key: { text: string };
beforeAll(async () => {
  fleet = await startFleet([31, 32, 33], () => ({ RATE_LIMIT_ENABLED: "false" }));
  key = await makeKey(clusterConfig(), "fleet");
}, 60_000);
afterAll(() => fleet?.stop());

const auth = () => ({ authorization: `Bearer ${key.text}`, "content-type": "application/json" });

/** GET on every instance directly, several times each (all three hot caches are filled). */
async function everywhere(code: string): Promise<string[]> {
  const seen: string[] = [];
  for (let round = 0; round < 3; round++) {
    for (const instance of fleet.instances) {
      const res = await fetch(`${instance.url}/${code}`, { redirect: "manual" });
      seen.push(res.status === 302 ? res.headers.get("location")! : String(res.status));
    }
  }
  return seen;
}

describe("link changes across instances", () => {
  test("after a PATCH through HAProxy, every instance redirects to the new target at once", async () => {
    for (let i = 0; i < 5; i++) {
      const before = uniqueUrl("fleet-before");
      const created = await fetch(`${fleet.lb.url}/create`, { method: "POST", headers: auth(), body: JSON.stringify({ url: before }) });
      const { short_code: code } = (await created.json()) as { short_code: string };
      expect(new Set(await everywhere(code))).toEqual(new Set([before]));
      const after = uniqueUrl("fleet-after");
      const patched = await fetch(`${fleet.lb.url}/api/links/${code}`, { method: "PATCH", headers: auth(), body: JSON.stringify({ url: after }) });
      expect(patched.status).toBe(200);
      expect(new Set(await everywhere(code))).toEqual(new Set([after]));
    }
  });

  test("after a DELETE through HAProxy, every instance answers 404 at once", async () => {
    const created = await fetch(`${fleet.lb.url}/create`, { method: "POST", headers: auth(), body: JSON.stringify({ url: uniqueUrl("fleet-doomed") }) });
    const { short_code: code } = (await created.json()) as { short_code: string };
    await everywhere(code);
    expect((await fetch(`${fleet.lb.url}/api/links/${code}`, { method: "DELETE", headers: auth() })).status).toBe(204);
    expect(new Set(await everywhere(code))).toEqual(new Set(["404"]));
  });
});
