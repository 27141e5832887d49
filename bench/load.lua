-- wrk script for bench/run.mjs: one contender, one run. Configured through
-- the environment, so one script serves every scenario and both load shapes:
--
--   BENCH_MODE    none | cookie | token
--                 none:   GET with no reCAPTCHA token (scenario a, baseline 1)
--                 cookie: a fixed session-token cookie (scenario b)
--                 token:  X-Recaptcha-Token with a new assessment ID on every
--                         request (scenario c, baseline 2), because the worker
--                         suppresses an identical annotation for 10 minutes
--   BENCH_PATH    request path ("/" or "/outcome")
--   BENCH_COOKIE  the Cookie header for mode cookie
--   BENCH_TOKEN   the token text before ":U=<id>" for mode token
--   BENCH_TAG     4 letters/digits unique to this run: IDs are TAG + a 12-digit
--                 counter, so calls reaching the stand-in map to this run
--   BENCH_RATE    requests/s over all connections; 0 or unset: as fast as the
--                 connections go (the fixed-concurrency load)
--   BENCH_RECORD  file to write "<id> <t_us>" per response (mode token): the
--                 CLOCK_MONOTONIC time the response arrived, which the runner
--                 subtracts from the time the stand-in got that ID's call
--
-- Prints one line "BENCH_RESULT {json}" when done. wrk computes the latency
-- percentiles (with its own coordinated-omission correction).
--
-- Only the hooks a run needs are defined: wrk sends a prebuilt request and
-- skips response parsing into Lua when `request` / `response` are absent.

local mode = os.getenv("BENCH_MODE") or "none"
local rate = tonumber(os.getenv("BENCH_RATE") or "0") or 0
local tag = os.getenv("BENCH_TAG") or "t000"
local record = os.getenv("BENCH_RECORD")
if record == "" then record = nil end

-- A microsecond CLOCK_MONOTONIC clock through LuaJIT's FFI (wrk offers none;
-- os.clock is CPU time). Node's process.hrtime reads the same clock.
local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clock_id, bench_timespec *tp);
]]
local ts = ffi.new("bench_timespec")
local CLOCK_MONOTONIC = 1
local function now_us()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) * 1000000 + math.floor(tonumber(ts.tv_nsec) / 1000)
end

wrk.method = "GET"
wrk.path = os.getenv("BENCH_PATH") or "/"
-- The site's host, where it is not the address wrk connects to.
if (os.getenv("BENCH_HOST") or "") ~= "" then
  wrk.headers["Host"] = os.getenv("BENCH_HOST")
end
if mode == "cookie" then
  wrk.headers["Cookie"] = os.getenv("BENCH_COOKIE")
end

if mode == "token" then
  local prefix = (os.getenv("BENCH_TOKEN") or "bench-token") .. ":U=" .. tag
  local n = 0
  request = function()
    n = n + 1
    return wrk.format(nil, nil, { ["X-Recaptcha-Token"] = prefix .. string.format("%012d", n) })
  end
end

-- Per-thread state; done() collects it with thread:get.
late, late_max_us = 0, 0
if record then
  ids, times, count = {}, {}, 0
  response = function(status, headers, body)
    count = count + 1
    -- The origin echoes the ID it saw (X-Bench-Id, from the token header
    -- both kinds of worker pass through unchanged).
    -- A Worker that rebuilds the response (the WAF) sends the name lowercase.
    ids[count] = headers["X-Bench-Id"] or headers["x-bench-id"] or "-"
    times[count] = now_us()
  end
end

-- Fixed rate: each send claims the next slot of one schedule shared by the
-- thread's connections (slot k at start + k/rate). A connection that frees up
-- early waits for its slot; one that frees up late sends at once, and the
-- lateness is counted: if it grows, the rate was not held (reported).
-- wrk's timers have millisecond resolution, so sends land within 1 ms of
-- their slot; the schedule itself does not drift.
if rate > 0 then
  local interval = 1000000 / rate
  local next_at
  delay = function()
    local now = now_us()
    next_at = (next_at or now) + interval
    local wait = next_at - now
    if wait < -1000 then
      late = late + 1
      if -wait > late_max_us then late_max_us = -wait end
    end
    if wait <= 0 then return 0 end
    return math.floor(wait / 1000)
  end
end

local threads = {}
setup = function(thread)
  table.insert(threads, thread)
end

done = function(summary, latency, requests)
  local total_late, max_late = 0, 0
  local out
  if record then out = assert(io.open(record, "w")) end
  for _, t in ipairs(threads) do
    total_late = total_late + t:get("late")
    max_late = math.max(max_late, t:get("late_max_us"))
    if out then
      local tids, ttimes = t:get("ids"), t:get("times")
      for i = 1, t:get("count") do
        out:write(tids[i], " ", string.format("%d", ttimes[i]), "\n")
      end
    end
  end
  if out then out:close() end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f,"late":%d,"late_max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    total_late, max_late))
end
