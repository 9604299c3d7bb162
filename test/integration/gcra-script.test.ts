/**
 * The GCRA "take up to n" Lua script, run by a real Redis, against its pure twin
 * (domain/gcra.ts): same grants, same remaining, token for token. Emissions of a second or more
 * keep Redis' clock from adding a token while one sequence runs.
 */
import { afterAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import Redis from "ioredis";
import { gcraParams, gcraTake } from "../../src/domain/gcra";
import { GCRA_TAKE_LUA } from "../../src/modules/ratelimit/gcra-script";
import { shardUrls } from "../../harness/cluster";

const redis = new Redis(shardUrls()[0]!.redis);
afterAll(() => redis.disconnect());

describe("GCRA take script", () => {
  test("property: the script grants what gcraTake grants", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 200 }), fc.array(fc.integer({ min: 0, max: 80 }), { minLength: 1, maxLength: 12 }), async (perMinute, burst, wants) => {
        const params = gcraParams({ perMinute, burst });
        const key = `test:gcra-take:${crypto.randomUUID()}`;
        const now = 1_700_000_000_000;
        let tat: number | undefined;
        try {
          for (const wanted of wants) {
            const [granted, , remaining] = (await redis.eval(GCRA_TAKE_LUA, 1, key, params.emissionMs, params.burst, wanted)) as number[];
            const twin = gcraTake(tat, now, params, wanted);
            expect([granted, remaining]).toEqual([twin.granted, twin.remaining]);
            if (twin.granted > 0) tat = twin.tat;
          }
        } finally {
          await redis.del(key);
        }
      }),
      { numRuns: 60 },
    );
  });
});
