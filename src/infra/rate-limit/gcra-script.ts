/**
 * GCRA in Lua, run atomically by Redis with Redis' own clock, so every instance shares one
 * bucket per client without clock skew. Mirrors domain/gcra.ts (the tests compare the two).
 * KEYS[1] bucket; ARGV: emission ms, burst, cost, force (1: charge even when refused, into debt of
 * up to one more burst — the 404 charge). Returns {allowed, retry_after_ms, remaining, reset_ms}.
 *
 * Written here rather than taken from rate-limiter-flexible: that library's Redis limiters are
 * fixed-window counters, and the issue asks for something smoother.
 */
export const GCRA_LUA = `
local emission = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local force = tonumber(ARGV[4]) == 1
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local new_tat = tat + emission * cost
local allow_at = new_tat - burst * emission
if now < allow_at then
  local remaining = math.floor((now - (tat - burst * emission)) / emission)
  if remaining < 0 then remaining = 0 end
  if force then
    local owed = math.min(new_tat, now + 2 * burst * emission)
    redis.call('SET', KEYS[1], tostring(owed), 'PX', math.max(1, math.ceil(owed - now)))
    return {0, math.ceil(owed - burst * emission - now), 0, math.ceil(owed - now)}
  end
  return {0, math.ceil(allow_at - now), remaining, math.ceil(tat - now)}
end
redis.call('SET', KEYS[1], tostring(new_tat), 'PX', math.max(1, math.ceil(new_tat - now)))
return {1, 0, math.floor((now - allow_at) / emission), math.ceil(new_tat - now)}
`;
