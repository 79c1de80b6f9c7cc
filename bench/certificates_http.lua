-- wrk script of bench/certificates_http.py: GET each certificate's PDF once, with the staff
-- bearer token, from a file of paths (one per line), every path by exactly one thread.
--
-- Environment (set by bench/certificates_http.py):
--   SALA_BENCH_URLS      file of paths, /api/v1/certificates/<code>/pdf, one per line
--   SALA_BENCH_BEARER    the API token (Authorization: Bearer ...)
--   SALA_BENCH_THREADS   wrk's -t (wrk does not tell the script)
--
-- setup() gives every thread a disjoint slice of the file; delay() hands the slice out one
-- request at a time (a connection with nothing left is parked); a thread with all its
-- answers prints THREAD_DONE and stops. A PDF counts as valid when the answer is 200, starts
-- with "%PDF-" and ends with "%%EOF" (pypdf checks the kept files afterwards).
-- done() prints: RESULT requests=.. window_s=.. non2xx=.. valid=.. invalid=.. bytes=..

package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
local common = require("wrk_common")
local now_us, PARK_MS, required, read_lines =
   common.now_us, common.PARK_MS, common.required, common.read_lines

local urls_path = required("SALA_BENCH_URLS")
local thread_count = tonumber(os.getenv("SALA_BENCH_THREADS") or "2")
local headers = { ["Authorization"] = "Bearer " .. required("SALA_BENCH_BEARER") }

local threads = {}
local url_count = nil

function setup(thread)
   if url_count == nil then url_count = #read_lines(urls_path) end
   local n = #threads
   local size = math.floor(url_count / thread_count)
   local first = n * size + 1
   if n == thread_count - 1 then size = url_count - n * size end
   thread:set("id", n)
   thread:set("first", first)
   thread:set("size", size)
   table.insert(threads, thread)
end

id = 0
first = 1
size = 0
reserved = 0
sent = 0
received = 0
non2xx = 0
valid = 0
invalid = 0
bytes = 0
first_us = 0
last_us = 0
finished = false
local paths = {}

function init(_)
   local lines = read_lines(urls_path)
   for index = first, first + size - 1 do paths[#paths + 1] = lines[index] end
end

function delay()
   if reserved < size then
      reserved = reserved + 1
      return 0
   end
   return PARK_MS
end

function request()
   if reserved == 0 then
      return wrk.format("GET", "/healthz", headers)
   end
   sent = sent + 1
   if first_us == 0 then first_us = now_us() end
   return wrk.format("GET", paths[(sent - 1) % #paths + 1], headers)
end

function response(status, _, body)
   received = received + 1
   last_us = now_us()
   if status ~= 200 then
      non2xx = non2xx + 1
      if non2xx <= 3 then
         io.write("UNEXPECTED ", status, " ", body:sub(1, 300), "\n")
         io.flush()
      end
   end
   local tail = body:sub(-32)
   if status == 200 and body:sub(1, 5) == "%PDF-" and tail:find("%%EOF", 1, true) then
      valid = valid + 1
      bytes = bytes + #body
   else
      invalid = invalid + 1
   end
   if received >= size and not finished then
      finished = true
      io.write("THREAD_DONE ", id, "\n")
      io.flush()
      wrk.thread:stop()
   end
end

function done(summary, latency, _)
   local sums = { received = 0, non2xx = 0, valid = 0, invalid = 0, bytes = 0 }
   for _, thread in ipairs(threads) do
      for name, _ in pairs(sums) do sums[name] = sums[name] + (thread:get(name) or 0) end
   end
   local window_us = common.window_us(threads, summary.duration)
   io.write(string.format(
      "RESULT requests=%d window_s=%.3f p50_ms=%.2f p99_ms=%.2f non2xx=%d valid=%d "
         .. "invalid=%d bytes=%d\n",
      sums.received, window_us / 1e6, latency:percentile(50) / 1000.0,
      latency:percentile(99) / 1000.0, sums.non2xx, sums.valid, sums.invalid, sums.bytes
   ))
   io.flush()
end
