-- wrk script of bench/orthanc_auth_load.py: POSTs the plugin's tokens/validate bodies.
-- Arguments (after wrk's "--"): the path, the Authorization header, a file of JSON bodies (one
-- per line). Each thread starts at its own place in the file and cycles through it; requests
-- are formatted once, in init. done() prints one line "WRK_JSON {...}" for the bench to read.

local threads = {}
local counter = 1

function setup(thread)
  thread:set("id", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

local prepared = {}
local count = 0
local position = 0
non2xx = 0
granted = 0
answered = 0

function init(args)
  local path, authorization, bodies = args[1], args[2], args[3]
  local headers = {
    ["Authorization"] = authorization,
    ["Content-Type"] = "application/json",
  }
  for line in io.lines(bodies) do
    if #line > 0 then
      count = count + 1
      prepared[count] = wrk.format("POST", path, headers, line)
    end
  end
  position = (id * 7919) % count
end

function request()
  position = position % count + 1
  return prepared[position]
end

function response(status, headers, body)
  answered = answered + 1
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  elseif string.find(body, '"granted": true', 1, true) then
    granted = granted + 1
  end
end

function done(summary, latency, requests)
  local totals = { non2xx = 0, granted = 0, answered = 0 }
  for _, thread in ipairs(threads) do
    for name, _ in pairs(totals) do
      totals[name] = totals[name] + (thread:get(name) or 0)
    end
  end
  local errors = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "answered": %d, "non2xx": %d, ' ..
    '"granted": %d, "connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d, ' ..
    '"p50_us": %d, "p99_us": %d, "p999_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, totals.answered, totals.non2xx, totals.granted,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.max))
end
