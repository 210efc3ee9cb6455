-- One benchmark case for wrk, set up by bench/loadgen.py through environment
-- variables. Every response that is not 2xx is counted (wrk's own summary
-- counts only >= 400), and the totals are printed as one JSON line.

wrk.method = os.getenv("BENCH_METHOD") or "GET"

local body = os.getenv("BENCH_BODY")
if body ~= nil and body ~= "" then
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
end

-- A body containing this marker is sent with the marker replaced by a value
-- unique to the request (a random tag per thread and run, then a counter), for
-- writes that must differ each time, such as new versions of a prompt.
local UNIQUE_MARKER = "@@UNIQUE@@"
local marker_at = body and body:find(UNIQUE_MARKER, 1, true)
if marker_at then
  local head, tail = body:sub(1, marker_at - 1), body:sub(marker_at + #UNIQUE_MARKER)
  function request()
    sent = sent + 1
    return wrk.format(nil, nil, nil, head .. run_tag .. "-" .. sent .. tail)
  end
end

local authorization = os.getenv("BENCH_AUTHORIZATION")
if authorization ~= nil and authorization ~= "" then
  wrk.headers["Authorization"] = authorization
end

-- Each wrk thread has its own Lua state; keep them to add up their counters.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  non2xx = 0
  first_non2xx = 0
  sent = 0
  local uuid = io.open("/proc/sys/kernel/random/uuid")
  run_tag = uuid and uuid:read("*l") or tostring(os.time())
  if uuid then
    uuid:close()
  end
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if first_non2xx == 0 then
      first_non2xx = status
    end
  end
end

function done(summary, latency, requests)
  local bad, first = 0, 0
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("non2xx")
    local status = thread:get("first_non2xx")
    if first == 0 and status ~= 0 then
      first = status
    end
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,"non2xx":%d,' ..
    '"first_non2xx_status":%d,"socket_errors":%d,"timeouts":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, bad, first,
    errors.connect + errors.read + errors.write, errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
