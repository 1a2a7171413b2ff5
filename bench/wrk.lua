-- wrk.lua - PUT or GET /api/v1/data/<prefix><n> on one Chorus node.
-- env: OP=put|get|mix  KEYS (keyspace, default 100000)  KEY_PREFIX (default "key-")
--      VALUE_SIZE (bytes of the PUT value, default 128)
--      READ_RATIO (OP=mix: the share of GETs, the rest PUTs; default 0.5)
-- Ends with one line "RESULT rps=... p50_ms=... p99_ms=... non2xx=... errors=... p90_ms=... p999_ms=... max_ms=..."
-- for bench/run.sh.
local op, n, prefix, body, read_ratio

local function env(name, def)
  local v = os.getenv(name)
  if v == nil or v == "" then return def end
  return v
end

local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
end

function init(args)
  math.randomseed(os.time() + 7919 * (tid or 0))
  op = env("OP", "put")
  n = tonumber(env("KEYS", "100000"))
  prefix = "/api/v1/data/" .. env("KEY_PREFIX", "key-")
  local size = tonumber(env("VALUE_SIZE", "128"))
  body = '{"value":"' .. string.rep("v", size) .. '"}'
  read_ratio = tonumber(env("READ_RATIO", "0.5"))
  if op == "put" then
    wrk.method = "PUT"
    wrk.headers["Content-Type"] = "application/json"
  end
end

function request()
  local path = prefix .. math.random(0, n - 1)
  if op == "put" then return wrk.format(nil, path, nil, body) end
  if op == "mix" and math.random() >= read_ratio then
    return wrk.format("PUT", path, {["Content-Type"] = "application/json"}, body)
  end
  return wrk.format("GET", path)
end

function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  io.write(string.format("RESULT rps=%.1f p50_ms=%.3f p99_ms=%.3f non2xx=%d errors=%d p90_ms=%.3f p999_ms=%.3f max_ms=%.3f\n",
    summary.requests / secs, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(90) / 1000, latency:percentile(99.9) / 1000, latency.max / 1000))
end
