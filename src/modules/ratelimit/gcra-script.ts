/** Every script reads Redis' clock the same way: `now` in milliseconds. */
const REDIS_NOW_MS = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/**
 * GCRA in Lua, run atomically by Redis with Redis' own clock, so every instance shares one
 * bucket per client without clock skew. Mirrors domain/gcra.ts (the tests compare the two).
 * KEYS[1] bucket; ARGV: emission ms, burst, cost, force (1: charge even when refused, into debt of
 * up to one more burst — the 404 charge). Returns {allowed, retry_after_ms, remaining, reset_ms}.
 *
 * Written here rather than taken from rate-limiter-flexible: that library's Redis limiters are
 * fixed-window counters, which admit two windows' worth at a window edge; GCRA spreads admissions evenly.
 *
 * TATs are stored with %.17g, every digit of the double: Lua's tostring keeps 14, which for epoch
 * milliseconds is 0.1 ms, and that rounding, repeated at each write, drifts a bucket by tokens.
 */
export const GCRA_LUA = `
local emission = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local force = tonumber(ARGV[4]) == 1
${REDIS_NOW_MS}
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local new_tat = tat + emission * cost
local allow_at = new_tat - burst * emission
if now < allow_at then
  local remaining = math.floor((now - (tat - burst * emission)) / emission)
  if remaining < 0 then remaining = 0 end
  if force then
    local owed = math.min(new_tat, now + 2 * burst * emission)
    redis.call('SET', KEYS[1], string.format('%.17g', owed), 'PX', math.max(1, math.ceil(owed - now)))
    return {0, math.ceil(owed - burst * emission - now), 0, math.ceil(owed - now)}
  end
  return {0, math.ceil(allow_at - now), remaining, math.ceil(tat - now)}
end
redis.call('SET', KEYS[1], string.format('%.17g', new_tat), 'PX', math.max(1, math.ceil(new_tat - now)))
return {1, 0, math.floor((now - allow_at) / emission), math.ceil(new_tat - now)}
`;

/**
 * gcraTake in Lua: takes up to ARGV[3] tokens and says how many it granted, so a batch of items
 * is charged in one round trip. KEYS[1] bucket; ARGV: emission ms, burst, wanted.
 * Returns {granted, retry_after_ms, remaining, reset_ms}.
 */
export const GCRA_TAKE_LUA = `
local emission = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local wanted = tonumber(ARGV[3])
${REDIS_NOW_MS}
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local available = math.floor((now + burst * emission - tat + 0.01) / emission)
if available < 0 then available = 0 end
local granted = math.min(wanted, available)
local new_tat = tat + emission * granted
if granted > 0 then
  redis.call('SET', KEYS[1], string.format('%.17g', new_tat), 'PX', math.max(1, math.ceil(new_tat - now)))
end
local retry = 0
if granted < wanted then retry = math.ceil(new_tat + emission - burst * emission - now) end
return {granted, retry, available - granted, math.ceil(new_tat - now)}
`;

/**
 * The in-memory budgets' sync (modules/ratelimit/memory-admission.ts): charges each bucket what
 * one instance admitted since its last sync — already admitted, so charged whatever the bucket
 * holds, into debt of up to one more burst as for a 404 — and returns each bucket's TAT, the
 * cluster's spending, for the instance to decide on. KEYS: buckets; ARGV: emission ms, burst,
 * then one cost per key. Each TAT goes back as milliseconds past Redis' now, so the instance adds
 * it to its own clock (the buckets it decides on run on that clock; a skew between the two would
 * otherwise shift every client's budget), and as a string: Redis turns Lua numbers into integers.
 */
export const GCRA_SYNC_LUA = `
local emission = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
${REDIS_NOW_MS}
local out = {}
for i, key in ipairs(KEYS) do
  local tat = tonumber(redis.call('GET', key)) or now
  if tat < now then tat = now end
  tat = math.min(tat + emission * tonumber(ARGV[i + 2]), now + 2 * burst * emission)
  redis.call('SET', key, string.format('%.17g', tat), 'PX', math.max(1, math.ceil(tat - now)))
  out[i] = string.format('%.17g', tat - now)
end
return out
`;
