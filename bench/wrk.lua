-- The request of one bench scenario, from the environment (bench/run.mjs sets it), and a JSON line
-- with the results at the end, which bench/run.mjs parses.
--   BENCH_METHOD, BENCH_PATH, BENCH_TOKEN (a bearer token), BENCH_BODY (sent as JSON)
local method = os.getenv("BENCH_METHOD") or "GET"
local path = os.getenv("BENCH_PATH") or "/"
local token = os.getenv("BENCH_TOKEN")
local body = os.getenv("BENCH_BODY")

local headers = {}
if token and token ~= "" then headers["Authorization"] = "Bearer " .. token end
if body and body ~= "" then headers["Content-Type"] = "application/json" else body = nil end

local prepared
function init(args)
  prepared = wrk.format(method, path, headers, body)
end

function request()
  return prepared
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,"non2xx":%d,"socket_errors":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.status, e.connect + e.read + e.write + e.timeout))
end
