-- wrk script of bench/registration.py: POST /api/v1/sessions/{id}/registrations, each request
-- a new person, until SALA_BENCH_TOTAL registrations were sent across all threads.
--
-- Environment (set by bench/registration.py):
--   SALA_BENCH_SESSION   the session id
--   SALA_BENCH_TOTAL     how many registrations in all
--   SALA_BENCH_THREADS   wrk's -t (wrk does not tell the script)
--   SALA_BENCH_RECEIPTS  optional: done() writes "id status waitlist_position http_status"
--                        per response there, for the checks of the Python script
--
-- Each wrk thread runs this file in a Lua state of its own: setup() hands every thread its
-- number (global `id`) and its share of the total (global `share`). delay() hands out the
-- share one request at a time, so no thread sends more than its share however many of its
-- connections ask at once; a connection with nothing left to send is parked. A thread that
-- has all its answers prints THREAD_DONE and stops; the Python side then ends wrk's -d sleep.
--
-- done() prints one machine-parsable line:
--   RESULT requests=.. rps=.. p50_ms=.. p99_ms=.. non2xx=.. connect=.. read=.. ...

package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
local common = require("wrk_common")
local now_us, PARK_MS = common.now_us, common.PARK_MS

local session_id = os.getenv("SALA_BENCH_SESSION") or error("SALA_BENCH_SESSION is not set")
local total = tonumber(os.getenv("SALA_BENCH_TOTAL") or error("SALA_BENCH_TOTAL is not set"))
local thread_count = tonumber(os.getenv("SALA_BENCH_THREADS") or "2")
local path = "/api/v1/sessions/" .. session_id .. "/registrations"
local headers = { ["Content-Type"] = "application/json" }

-- ------------------------------------------------------------------ setup (main Lua state)

local threads = {}

function setup(thread)
   local n = #threads
   local share = math.floor(total / thread_count)
   if n < total % thread_count then
      share = share + 1
   end
   thread:set("id", n)
   thread:set("share", share)
   table.insert(threads, thread)
end

-- ------------------------------------------------------------------ running (one state per thread)

id = 0
share = 0
reserved = 0 -- requests promised to a connection by delay()
sent = 0
received = 0
non2xx = 0
created = 0
confirmed = 0
waitlisted = 0
first_us = 0
last_us = 0
receipts = {}
finished = false

function delay()
   if reserved < share then
      reserved = reserved + 1
      return 0
   end
   return PARK_MS
end

function request()
   if reserved == 0 then
      -- wrk calls request() once before the run, only to count the requests in the string
      return wrk.format("POST", path, headers, "{}")
   end
   sent = sent + 1
   if first_us == 0 then
      first_us = now_us()
   end
   local body = string.format(
      '{"chosen_name":"Bench %d-%d","email":"bench-%d-%d@example.org",'
         .. '"sector":"student","consent":true,"language":"en"}',
      id, sent, id, sent
   )
   return wrk.format("POST", path, headers, body)
end

function response(status, _, body)
   received = received + 1
   last_us = now_us()
   if status < 200 or status > 299 then
      non2xx = non2xx + 1
   end
   if status == 201 then
      created = created + 1
   end
   local state = body:match('"status"%s*:%s*"(%a+)"') or "-"
   if state == "confirmed" then
      confirmed = confirmed + 1
   elseif state == "waitlisted" then
      waitlisted = waitlisted + 1
   end
   receipts[#receipts + 1] = string.format(
      "%s %s %s %d",
      body:match('"id"%s*:%s*(%d+)') or "-",
      state,
      body:match('"waitlist_position"%s*:%s*(%d+)') or "-",
      status
   )
   if received >= share and not finished then
      finished = true
      io.write("THREAD_DONE ", id, "\n")
      io.flush()
      wrk.thread:stop()
   end
end

-- ------------------------------------------------------------------ done (main Lua state)

function done(summary, latency, requests)
   local sums = {
      sent = 0, received = 0, non2xx = 0, created = 0, confirmed = 0, waitlisted = 0,
   }
   local finished_threads = 0
   local receipts_path = os.getenv("SALA_BENCH_RECEIPTS")
   local out = nil
   if receipts_path and receipts_path ~= "" then
      out = assert(io.open(receipts_path, "w"))
   end
   for _, thread in ipairs(threads) do
      for name, _ in pairs(sums) do
         sums[name] = sums[name] + (thread:get(name) or 0)
      end
      if thread:get("finished") then finished_threads = finished_threads + 1 end
      if out then
         for _, line in ipairs(thread:get("receipts") or {}) do
            out:write(line, "\n")
         end
      end
   end
   if out then out:close() end

   local window_us = common.window_us(threads, summary.duration)
   local errors = summary.errors
   local function ms(value) return value / 1000.0 end
   io.write(string.format(
      "RESULT requests=%d sent=%d duration_s=%.3f window_s=%.3f rps=%.1f "
         .. "mean_ms=%.1f p50_ms=%.1f p90_ms=%.1f p99_ms=%.1f max_ms=%.1f "
         .. "non2xx=%d status=%d connect=%d read=%d write=%d timeout=%d "
         .. "created=%d confirmed=%d waitlisted=%d threads_finished=%d\n",
      summary.requests, sums.sent, summary.duration / 1e6, window_us / 1e6,
      summary.requests / (window_us / 1e6),
      ms(latency.mean), ms(latency:percentile(50)), ms(latency:percentile(90)),
      ms(latency:percentile(99)), ms(latency.max),
      sums.non2xx, errors.status, errors.connect, errors.read, errors.write, errors.timeout,
      sums.created, sums.confirmed, sums.waitlisted, finished_threads
   ))
   io.flush()
end
