-- wrk script: POST /create with a unique URL per request plus a share of repeated URLs.
--   REPEATS_FILE  lines "<code> <long_url>": URLs created before the run and their codes
--   REPEAT_SHARE  share of requests that repeat one of them (default 0.1)
--   RUN_ID        makes this run's unique URLs unique across runs on the same data
--   BENCH_WRK_DIR folder of common.lua
-- A repeat must answer 200 with the code it got first; a unique URL must answer 201.
-- done() prints BENCH_JSON {requests, latency_us, errors, counts{created, repeat_ok,
-- repeat_mismatch, unexpected_dedupe, failed}, status{<code>=n} for failures, shards{<shard>=n}}.
local common = dofile((os.getenv("BENCH_WRK_DIR") or "bench/wrk") .. "/common.lua")
local repeats_file = os.getenv("REPEATS_FILE")
local repeat_share = tonumber(os.getenv("REPEAT_SHARE") or "0.1")
local run_id = os.getenv("RUN_ID") or tostring(os.time())

setup = common.setup

local urls, expected, nrep, seq = {}, {}, 0, 0
local headers = { ["Content-Type"] = "application/json" }

function init(args)
  if repeats_file and repeats_file ~= "" then
    local f = assert(io.open(repeats_file, "r"))
    for line in f:lines() do
      local code, url = line:match("^(%S+)%s+(%S+)")
      if code then
        nrep = nrep + 1
        urls[nrep] = url
        expected[url] = code
      end
    end
    f:close()
  end
  common.seed(tid)
  counts = { created = 0, repeat_ok = 0, repeat_mismatch = 0, unexpected_dedupe = 0, failed = 0 }
  status = {}
  shards = {}
end

function request()
  local url
  if nrep > 0 and math.random() < repeat_share then
    url = urls[math.random(nrep)]
  else
    seq = seq + 1
    url = "https://bench.example/u/" .. run_id .. "/" .. tid .. "/" .. seq
  end
  return wrk.format("POST", "/create", headers, '{"url":"' .. url .. '"}')
end

function response(code, hdrs, body)
  if code ~= 200 and code ~= 201 then
    counts.failed = counts.failed + 1
    common.inc(status, tostring(code))
    return
  end
  local short = body:match('"short_code":"([^"]+)"')
  local long = body:match('"long_url":"([^"]+)"')
  local want = long and expected[long]
  if code == 201 then
    -- A repeated URL must never get a second code.
    if want then counts.repeat_mismatch = counts.repeat_mismatch + 1 else counts.created = counts.created + 1 end
    common.inc(shards, common.header(hdrs, "x-shard") or "?")
  elseif want == nil then
    counts.unexpected_dedupe = counts.unexpected_dedupe + 1
  elseif want == short then
    counts.repeat_ok = counts.repeat_ok + 1
  else
    counts.repeat_mismatch = counts.repeat_mismatch + 1
  end
end

function done(summary, latency, requests)
  common.report(summary, latency, { "counts", "status", "shards" })
end
