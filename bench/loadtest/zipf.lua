-- wrk script: every request is a search drawn Zipf(s) from the query list (rank 1 = first line).
--
--   wrk -t2 -c200 -d60s --latency -s bench/loadtest/zipf.lua http://127.0.0.1:8000 \
--       -- bench/loadtest/queries.txt 1.1 [seed] [gzip]
--
-- Arguments after `--` (or the env vars LOADTEST_QUERIES, LOADTEST_ZIPF_S,
-- LOADTEST_SEED, LOADTEST_GZIP): the query file (one path+query per line, `#` comments),
-- the Zipf exponent, a base seed (thread n uses seed + n, so threads draw different
-- sequences yet a run can be repeated), and "1" to send Accept-Encoding: gzip as browsers do.
-- Requests are formatted once in init(); the hot path is one random number, a binary
-- search over the precomputed CDF and a table lookup. No response() callback, so wrk
-- never hands bodies to Lua. done() prints one line: "LOADTEST_JSON {...}".

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

local requests = {}
local cdf = {}
local n = 0

local function arg_or_env(args, i, name, default)
  local value = args and args[i]
  if value == nil or value == "" then value = os.getenv(name) end
  if value == nil or value == "" then value = default end
  return value
end

function init(args)
  local path = arg_or_env(args, 1, "LOADTEST_QUERIES", "bench/loadtest/queries.txt")
  local s = tonumber(arg_or_env(args, 2, "LOADTEST_ZIPF_S", "1.1"))
  local seed = tonumber(arg_or_env(args, 3, "LOADTEST_SEED", "1"))
  local gzip = arg_or_env(args, 4, "LOADTEST_GZIP", "1") == "1"
  local headers = {}
  if gzip then headers["Accept-Encoding"] = "gzip" end
  local file = assert(io.open(path, "r"), "cannot open " .. path)
  for line in file:lines() do
    if line ~= "" and line:sub(1, 1) ~= "#" then
      n = n + 1
      requests[n] = wrk.format("GET", line, headers)
    end
  end
  file:close()
  assert(n > 0, "no queries in " .. path)
  local total = 0
  for k = 1, n do
    total = total + k ^ -s
    cdf[k] = total
  end
  for k = 1, n do cdf[k] = cdf[k] / total end
  cdf[n] = 1.0
  math.randomseed(seed + (id or 0))
end

function request()
  local u = math.random()
  local lo, hi = 1, n
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if cdf[mid] < u then lo = mid + 1 else hi = mid end
  end
  return requests[lo]
end

function done(summary, latency, requests_)
  local e = summary.errors
  local seconds = summary.duration / 1e6
  local ms = function(us) return us / 1000 end
  io.write(string.format(
    'LOADTEST_JSON {"requests": %d, "duration_s": %.3f, "requests_per_s": %.1f, '
      .. '"bytes": %d, "latency_ms": {"mean": %.3f, "p50": %.3f, "p90": %.3f, "p95": %.3f, '
      .. '"p99": %.3f, "max": %.3f}, "errors": {"connect": %d, "read": %d, "write": %d, '
      .. '"timeout": %d, "status_4xx_5xx": %d}}\n',
    summary.requests, seconds, summary.requests / seconds, summary.bytes,
    ms(latency.mean), ms(latency:percentile(50)), ms(latency:percentile(90)),
    ms(latency:percentile(95)), ms(latency:percentile(99)), ms(latency.max),
    e.connect, e.read, e.write, e.timeout, e.status))
end
