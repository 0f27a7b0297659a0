-- Replays a file of prepared requests, one per line:
--   METHOD <tab> PATH <tab> BEARER TOKEN (may be empty) <tab> JSON BODY (may be empty)
--   wrk -t T -c C -d D -s requests.lua URL -- FILE T
-- Thread t takes the lines n with n % T == t, in order, so every request of a run
-- is a different line (a different token, a different free slot). When a thread
-- runs out of lines it starts again ("wrapped": a booking file too short for the
-- rate; the repeated bookings then answer 409 and are reported).
-- done() prints one line "BENCH_JSON {...}" with the status codes of all threads.

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  local path, nthreads = args[1], tonumber(args[2])
  reqs = {}
  local n = 0
  for line in io.lines(path) do
    if n % nthreads == id then
      local method, target, token, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
      local headers = {}
      if token ~= "" then
        headers["Authorization"] = "Bearer " .. token
      end
      if body == "" then
        body = nil
      else
        headers["Content-Type"] = "application/json"
      end
      reqs[#reqs + 1] = wrk.format(method, target, headers, body)
    end
    n = n + 1
  end
  pos = 0
  wrapped = 0
  statuses = {}
end

function request()
  pos = pos + 1
  if pos > #reqs then
    pos = 1
    wrapped = wrapped + 1
  end
  return reqs[pos]
end

function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
end

function done(summary, latency, requests)
  local codes, wraps = {}, 0
  for _, thread in ipairs(threads) do
    for code, count in pairs(thread:get("statuses")) do
      codes[code] = (codes[code] or 0) + count
    end
    wraps = wraps + thread:get("wrapped")
  end
  local parts = {}
  for code, count in pairs(codes) do
    parts[#parts + 1] = string.format('"%s": %d', code, count)
  end
  local pct = {}
  for _, p in ipairs({50, 90, 99, 99.9}) do
    pct[#pct + 1] = string.format('"%s": %d', tostring(p), latency:percentile(p))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "statuses": {%s}, "latency_us": {%s}, '
      .. '"latency_max_us": %d, "latency_mean_us": %.1f, "wrapped": %d, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}\n',
    summary.requests, summary.duration, table.concat(parts, ", "), table.concat(pct, ", "),
    latency.max, latency.mean, wraps, e.connect, e.read, e.write, e.status, e.timeout))
end
