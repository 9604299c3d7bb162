-- wrk script: GET /<code> over a hot/cold code set; counts what the server says it did.
--   CODES_FILE     lines "<code> <hot|cold> <shard>" (written by the runner after seeding)
--   HOT_SHARE      share of requests to the hot set (default 0.9)
--   COUNT_HEADERS  "0" to skip per-response accounting (wrk then does not parse headers into Lua)
--   BENCH_WRK_DIR  folder of common.lua
-- done() prints one line: BENCH_JSON {requests, latency_us, errors, counts{s3xx,non3xx,hit,miss},
-- status{<code>=n} for non-3xx, sources{"<shard>:<source>"=n}}.
local common = dofile((os.getenv("BENCH_WRK_DIR") or "bench/wrk") .. "/common.lua")
local codes_file = os.getenv("CODES_FILE") or error("CODES_FILE is not set")
local hot_share = tonumber(os.getenv("HOT_SHARE") or "0.9")
local count_headers = (os.getenv("COUNT_HEADERS") or "1") ~= "0"

setup = common.setup

local hot, cold, nhot, ncold = {}, {}, 0, 0

function init(args)
  local f = assert(io.open(codes_file, "r"))
  for line in f:lines() do
    local code, class = line:match("^(%S+)%s+(%S+)")
    if code and class == "cold" then
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
  common.seed(tid)
  counts = { s3xx = 0, non3xx = 0, hit = 0, miss = 0 }
  status = {}
  sources = {}
end

-- Requests are pre-formatted in init: request() only picks one.
function request()
  if math.random() < hot_share then return hot[math.random(nhot)] end
  return cold[math.random(ncold)]
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
