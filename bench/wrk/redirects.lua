-- wrk script: GET /<code> over a hot/cold code set, or over ranked codes drawn Zipf or
-- uniform; counts what the server says it did.
--   CODES_FILE     lines "<code> <hot|cold> <shard>" (written by the runner after seeding); for
--                  DIST=zipf|uniform only the first field is read, and line k is rank k
--   DIST           "hotcold" (default): HOT_SHARE of requests to the hot set, the rest to the cold;
--                  "zipf": rank k drawn with probability (1/k^ZIPF_S) / sum_i 1/i^ZIPF_S, by binary
--                  search of a CDF precomputed over all ranks in init(); "uniform": every code alike
--   HOT_SHARE      share of requests to the hot set (default 0.9; DIST=hotcold)
--   ZIPF_S         Zipf exponent (default 1)
--   COUNT_HEADERS  "0" to skip per-response accounting (wrk then does not parse headers into Lua)
--   BENCH_WRK_DIR  folder of common.lua
-- done() prints one line: BENCH_JSON {requests, latency_us, errors, counts{s3xx,non3xx,hit,miss},
-- status{<code>=n} for non-3xx, sources{"<shard>:<source>"=n}}.
local common = dofile((os.getenv("BENCH_WRK_DIR") or "bench/wrk") .. "/common.lua")
local codes_file = os.getenv("CODES_FILE") or error("CODES_FILE is not set")
local hot_share = tonumber(os.getenv("HOT_SHARE") or "0.9")
local dist = os.getenv("DIST") or "hotcold"
local zipf_s = tonumber(os.getenv("ZIPF_S") or "1")
assert(dist == "hotcold" or dist == "zipf" or dist == "uniform", "DIST must be hotcold, zipf or uniform")
local count_headers = (os.getenv("COUNT_HEADERS") or "1") ~= "0"

setup = common.setup

local hot, cold, nhot, ncold = {}, {}, 0, 0
-- DIST=zipf: cdf[k] = P(rank <= k); the last entry is 1.
local cdf = {}

function init(args)
  local f = assert(io.open(codes_file, "r"))
  -- One request per code, pre-formatted (a million of them is ~100 MB here). Ranked codes
  -- (zipf, uniform) all go to `hot`, in file order: line k is rank k.
  for line in f:lines() do
    local code, class = line:match("^(%S+)%s*(%S*)")
    if code and dist == "hotcold" and class == "cold" then
      ncold = ncold + 1
      cold[ncold] = wrk.format("GET", "/" .. code)
    elseif code then
      nhot = nhot + 1
      hot[nhot] = wrk.format("GET", "/" .. code)
    end
  end
  f:close()
  if nhot == 0 then hot, nhot = cold, ncold end
  if ncold == 0 then cold, ncold = hot, nhot end
  assert(nhot > 0, "no codes in " .. codes_file)
  if dist == "zipf" then
    local sum = 0
    for k = 1, nhot do
      sum = sum + 1 / k ^ zipf_s
      cdf[k] = sum
    end
    for k = 1, nhot do cdf[k] = cdf[k] / sum end
    cdf[nhot] = 1
  end
  common.seed(tid)
  counts = { s3xx = 0, non3xx = 0, hit = 0, miss = 0 }
  status = {}
  sources = {}
end

-- Smallest rank k with cdf[k] >= u (u uniform in [0, 1)).
local function zipf_rank()
  local u = math.random()
  local lo, hi = 1, nhot
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if cdf[mid] < u then lo = mid + 1 else hi = mid end
  end
  return lo
end

-- Requests are pre-formatted in init: request() only picks one.
if dist == "zipf" then
  function request() return hot[zipf_rank()] end
elseif dist == "uniform" then
  function request() return hot[math.random(nhot)] end
else
  function request()
    if math.random() < hot_share then return hot[math.random(nhot)] end
    return cold[math.random(ncold)]
  end
end

if count_headers then
  function response(code, headers, body)
    if code >= 300 and code < 400 then
      counts.s3xx = counts.s3xx + 1
    else
      counts.non3xx = counts.non3xx + 1
      common.inc(status, tostring(code))
    end
    local cache = common.header(headers, "x-cache")
    if cache == "HIT" then counts.hit = counts.hit + 1 elseif cache == "MISS" then counts.miss = counts.miss + 1 end
    local shard = common.header(headers, "x-shard") or "?"
    local source = common.header(headers, "x-source") or "none"
    common.inc(sources, shard .. ":" .. source)
  end
end

function done(summary, latency, requests)
  common.report(summary, latency, { "counts", "status", "sources" }, { counted = count_headers })
end
