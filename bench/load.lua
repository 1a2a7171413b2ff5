-- load.lua - PUT the keys <prefix>START..KEYS-1 once each, spread over wrk's
-- threads (thread t writes START+t, START+t+THREADS, ...); once a thread is
-- past KEYS it repeats its last key. wrk runs for its duration whatever
-- happens, so a caller runs it in short rounds: done() prints NEXT=, the
-- first key some thread has not reached, for the next round's START
-- (bench/repair.py). Used to fill a cluster and to make a replica miss writes.
-- env: KEYS  START (default 0)  THREADS (as wrk's -t)  KEY_PREFIX (default "key-")
--      VALUE_SIZE (default 1024)  QUERY (appended to the path, e.g. "?w=1")
--      TAG (put first in every value, default "v")
local counter, threads = 0, {}
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local function env(name, def)
  local v = os.getenv(name)
  if v == nil or v == "" then return def end
  return v
end

function init(args)
  n = tonumber(env("KEYS", "100000"))
  step = tonumber(env("THREADS", "2"))
  i = tonumber(env("START", "0")) + (tid or 0)
  prefix = "/api/v1/data/" .. env("KEY_PREFIX", "key-")
  query = env("QUERY", "")
  local tag = env("TAG", "v")
  body = '{"value":"' .. tag .. string.rep("x", tonumber(env("VALUE_SIZE", "1024")) - #tag) .. '"}'
  wrk.method = "PUT"
  wrk.headers["Content-Type"] = "application/json"
  last = i
end

function request()
  -- wrk calls request() once to check it before any connection sends:
  -- that call must not use up a key
  if not checked then
    checked = true
    return wrk.format(nil, prefix .. i .. query, nil, body)
  end
  if i < n then
    last = i
    i = i + step
  end
  return wrk.format(nil, prefix .. last .. query, nil, body)
end

function done(summary, latency, requests)
  local next = nil
  for _, t in ipairs(threads) do
    local at = t:get("i")
    if next == nil or at < next then next = at end
  end
  io.write(string.format("NEXT=%d\n", next))
  local secs = summary.duration / 1e6
  io.write(string.format("RESULT rps=%.1f p50_ms=%.3f p99_ms=%.3f non2xx=%d errors=%d\n",
    summary.requests / secs, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
