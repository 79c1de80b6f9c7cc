-- wrk script of bench/checkin.py: POST /api/v1/checkins, one single scan per request, each
-- a distinct ticket and a distinct scan_id, until SALA_BENCH_TOTAL scans were sent across
-- all threads. With SALA_BENCH_TOTAL=0 it sends the same kind of request until wrk's -d ends
-- (tickets reused round-robin): the ceiling run against bench/bare_app.py.
--
-- Environment (set by bench/checkin.py):
--   SALA_BENCH_TOKENS    file of ticket tokens, one per line
--   SALA_BENCH_SESSION   the session id
--   SALA_BENCH_BEARER    the API token (Authorization: Bearer ...)
--   SALA_BENCH_TOTAL     how many scans in all (0: until -d ends)
--   SALA_BENCH_THREADS   wrk's -t (wrk does not tell the script)
--   SALA_BENCH_PATH      optional, default /api/v1/checkins
--
-- Each wrk thread runs this file in a Lua state of its own. setup() hands every thread its
-- number (global `id`) and a disjoint slice of the token file (globals `first`, `share`);
-- init() reads that slice. delay() hands the share out one request at a time, so no thread
-- sends more than its share however many of its connections ask at once; a connection with
-- nothing left to send is parked. A thread that has all its answers prints THREAD_DONE and
-- stops; the Python side then ends wrk's -d sleep.
--
-- done() prints one machine-parsable line:
--   RESULT requests=.. rps=.. p50_ms=.. p99_ms=.. non2xx=.. checked_in=.. other_result=.. ...

package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
local common = require("wrk_common")
local now_us, PARK_MS, required, read_lines =
   common.now_us, common.PARK_MS, common.required, common.read_lines

local tokens_path = required("SALA_BENCH_TOKENS")
local session_id = tonumber(required("SALA_BENCH_SESSION"))
local total = tonumber(required("SALA_BENCH_TOTAL"))
local thread_count = tonumber(os.getenv("SALA_BENCH_THREADS") or "2")
local path = os.getenv("SALA_BENCH_PATH") or "/api/v1/checkins"
local headers = {
   ["Content-Type"] = "application/json",
   ["Authorization"] = "Bearer " .. required("SALA_BENCH_BEARER"),
}

-- A JSON string literal. Tickets are base45 (letters, digits, space $ % * + - . / :), which
-- need no escaping, but nothing here relies on that.
local function json_string(text)
   local escaped = text:gsub('[%c"\\]', function(char)
      if char == '"' then return '\\"' end
      if char == "\\" then return "\\\\" end
      return string.format("\\u%04x", char:byte())
   end)
   return '"' .. escaped .. '"'
end

-- ------------------------------------------------------------------ setup (main Lua state)

local threads = {}
local token_count = nil

function setup(thread)
   if token_count == nil then
      token_count = #read_lines(tokens_path)
   end
   local n = #threads
   -- The slice of the token file this thread owns: the first `share` of its tokens in a
   -- counted run; in a timed run (total 0) the whole slice, reused round-robin.
   local size = math.floor(token_count / thread_count)
   local first = n * size + 1
   if n == thread_count - 1 then
      size = token_count - n * size
   end
   local share = 0
   if total > 0 then
      share = math.floor(total / thread_count)
      if n < total % thread_count then
         share = share + 1
      end
      if share > size then
         error(string.format("thread %d needs %d tickets, its slice has %d", n, share, size))
      end
   end
   thread:set("id", n)
   thread:set("first", first)
   thread:set("size", size)
   thread:set("share", share)
   table.insert(threads, thread)
end

-- ------------------------------------------------------------------ running (one state per thread)

id = 0
first = 1
size = 0
share = 0
reserved = 0 -- requests promised to a connection by delay() (counted: at most `share`)
sent = 0
received = 0
non2xx = 0
checked_in = 0
other_result = 0
first_us = 0
last_us = 0
finished = false

local prefixes = {} -- per ticket: the body up to the scan id

function init(_)
   local lines = read_lines(tokens_path)
   for index = first, first + size - 1 do
      prefixes[#prefixes + 1] = '{"token":' .. json_string(lines[index])
         .. ',"session_id":' .. session_id .. ',"scan_id":"'
   end
   if #prefixes == 0 then
      error("thread " .. id .. " has no tickets")
   end
   math.randomseed(os.time() * 1000 + id * 7919)
end

function delay()
   if total == 0 then
      reserved = reserved + 1
      return 0
   end
   if reserved < share then
      reserved = reserved + 1
      return 0
   end
   return PARK_MS
end

function request()
   if reserved == 0 then
      -- wrk calls request() once before the run, only to count the requests in the string
      -- (delay() runs before every real request)
      return wrk.format("POST", path, headers, "{}")
   end
   sent = sent + 1
   if first_us == 0 then
      first_us = now_us()
   end
   local prefix = prefixes[(sent - 1) % #prefixes + 1]
   local scan_id = string.format("%d-%d-%08x", id, sent, math.random(0, 0x7fffffff))
   local body = prefix .. scan_id .. '","device_id":"bench"}'
   return wrk.format("POST", path, headers, body)
end

function response(status, _, body)
   received = received + 1
   last_us = now_us()
   if status < 200 or status > 299 then
      non2xx = non2xx + 1
   end
   if body:find('"result":"checked_in"', 1, true) then
      checked_in = checked_in + 1
   else
      other_result = other_result + 1
      if other_result <= 3 then
         io.write("UNEXPECTED ", status, " ", body:sub(1, 300), "\n")
         io.flush()
      end
   end
   if total > 0 and received >= share and not finished then
      finished = true
      io.write("THREAD_DONE ", id, "\n")
      io.flush()
      wrk.thread:stop()
   end
end

-- ------------------------------------------------------------------ done (main Lua state)

function done(summary, latency, _)
   local sums = { sent = 0, received = 0, non2xx = 0, checked_in = 0, other_result = 0 }
   local finished_threads = 0
   for _, thread in ipairs(threads) do
      for name, _ in pairs(sums) do
         sums[name] = sums[name] + (thread:get(name) or 0)
      end
      if thread:get("finished") then finished_threads = finished_threads + 1 end
   end
   local window_us = common.window_us(threads, summary.duration)
   local errors = summary.errors
   local function ms(value) return value / 1000.0 end
   io.write(string.format(
      "RESULT requests=%d sent=%d duration_s=%.3f window_s=%.3f rps=%.1f "
         .. "mean_ms=%.2f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f "
         .. "non2xx=%d status=%d connect=%d read=%d write=%d timeout=%d "
         .. "checked_in=%d other_result=%d threads_finished=%d\n",
      summary.requests, sums.sent, summary.duration / 1e6, window_us / 1e6,
      summary.requests / (window_us / 1e6),
      ms(latency.mean), ms(latency:percentile(50)), ms(latency:percentile(90)),
      ms(latency:percentile(99)), ms(latency.max),
      sums.non2xx, errors.status, errors.connect, errors.read, errors.write, errors.timeout,
      sums.checked_in, sums.other_result, finished_threads
   ))
   io.flush()
end
