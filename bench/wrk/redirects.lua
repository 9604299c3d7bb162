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
--   MIX_HEADERS    "1": each request carries one of several real browser/bot user agents,
--                  referrers, languages and forwarded client addresses (click analytics load);
--                  DIST=hotcold only (8 pre-formatted variants per code)
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
local mix = os.getenv("MIX_HEADERS") == "1"
assert(not mix or dist == "hotcold", "MIX_HEADERS needs DIST=hotcold")

-- A realistic mix: mostly browsers on desktop and phones, some crawlers and preview fetchers.
local VARIANTS = {
  { ["User-Agent"] = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", ["Referer"] = "https://www.google.com/", ["Accept-Language"] = "en-US,en;q=0.9", ["X-Forwarded-For"] = "8.8.8.8" },
  { ["User-Agent"] = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", ["Referer"] = "https://t.co/x", ["Accept-Language"] = "de-DE,de;q=0.8", ["X-Forwarded-For"] = "81.2.69.142" },
  { ["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", ["Accept-Language"] = "fr", ["X-Forwarded-For"] = "2a00:1450:4001:80b::200e" },
  { ["User-Agent"] = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36", ["Referer"] = "https://news.ycombinator.com/", ["X-Forwarded-For"] = "1.1.1.1" },
  { ["User-Agent"] = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15", ["Referer"] = "https://www.linkedin.com/feed/", ["Accept-Language"] = "en-GB", ["X-Forwarded-For"] = "193.0.6.139" },
  { ["User-Agent"] = "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", ["Accept-Language"] = "ja", ["X-Forwarded-For"] = "133.242.0.1" },
  { ["User-Agent"] = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", ["X-Forwarded-For"] = "54.80.0.1" },
  { ["User-Agent"] = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", ["X-Forwarded-For"] = "66.249.66.1" },
}

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
    elseif code and mix then
      for _, headers in ipairs(VARIANTS) do
        nhot = nhot + 1
        hot[nhot] = wrk.format("GET", "/" .. code, headers)
      end
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
