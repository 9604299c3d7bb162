-- Shared helpers for the wrk scripts (loaded with dofile from the runner-provided BENCH_WRK_DIR).
local M = {}

-- JSON for what these scripts produce: nested tables with string keys, numbers, strings, booleans.
function M.json(v)
  local t = type(v)
  if t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then return "null" end
    if v == math.floor(v) and math.abs(v) < 1e15 then return string.format("%d", v) end
    return string.format("%.6g", v)
  elseif t == "string" then
    return '"' .. v:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
  elseif t == "boolean" then
    return tostring(v)
  elseif t == "table" then
    local parts = {}
    for k, val in pairs(v) do parts[#parts + 1] = M.json(tostring(k)) .. ":" .. M.json(val) end
    table.sort(parts)
    return "{" .. table.concat(parts, ",") .. "}"
  end
  return "null"
end

-- Sums per-thread counter tables (copied out of each thread with thread:get) into one.
function M.merge(into, from)
  for k, v in pairs(from or {}) do
    if type(v) == "table" then
      into[k] = into[k] or {}
      M.merge(into[k], v)
    else
      into[k] = (into[k] or 0) + v
    end
  end
  return into
end

function M.inc(t, k, n)
  t[k] = (t[k] or 0) + (n or 1)
end

-- Header lookup that does not depend on the server's header-name case.
function M.header(headers, name)
  return headers[name] or headers[name:gsub("^%l", string.upper):gsub("%-%l", string.upper)]
end

-- The common part of every report: wrk's own totals and latency distribution (µs).
function M.base(summary, latency)
  local e = summary.errors
  return {
    requests = summary.requests,
    duration_us = summary.duration,
    bytes = summary.bytes,
    errors = { connect = e.connect, read = e.read, write = e.write, status = e.status, timeout = e.timeout },
    latency_us = {
      p50 = latency:percentile(50), p90 = latency:percentile(90), p95 = latency:percentile(95),
      p99 = latency:percentile(99), p999 = latency:percentile(99.9),
      min = latency.min, max = latency.max, mean = latency.mean, stdev = latency.stdev,
    },
  }
end

function M.seed(tid)
  -- os.time() has 1 s resolution: mix in the thread id and a clock so threads differ.
  math.randomseed(os.time() * 1000003 + (tid or 0) * 7919 + math.floor((os.clock() % 1) * 1e6))
  for _ = 1, 10 do math.random() end
end

-- wrk's setup() hook (a script sets `setup = common.setup`): keeps every thread for report()
-- and gives each a 1-based "tid".
M.threads = {}
function M.setup(thread)
  M.threads[#M.threads + 1] = thread
  thread:set("tid", #M.threads)
end

-- The run as one BENCH_JSON line: wrk's own figures, `extra`, and each of the tables `names`
-- merged over all threads.
function M.report(summary, latency, names, extra)
  local out = M.base(summary, latency)
  for k, v in pairs(extra or {}) do out[k] = v end
  for _, name in ipairs(names) do
    out[name] = {}
    for _, t in ipairs(M.threads) do M.merge(out[name], t:get(name)) end
  end
  io.write("BENCH_JSON " .. M.json(out) .. "\n")
end

return M
