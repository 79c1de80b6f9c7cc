-- What the wrk scripts of bench/ share. Each script loads it from its own folder:
--
--   package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
--   local common = require("wrk_common")
--
-- Each wrk thread runs its script (and so this module) in a Lua state of its own.

local common = {}

-- Microseconds of the wall clock (LuaJIT's ffi); without ffi, 0, and the scripts fall back
-- on wrk's own duration.
local ok_ffi, ffi = pcall(require, "ffi")
if ok_ffi then
   ffi.cdef[[
      typedef struct { long tv_sec; long tv_usec; } sala_bench_timeval;
      int gettimeofday(sala_bench_timeval *tv, void *tz);
   ]]
   local tv = ffi.new("sala_bench_timeval")
   common.now_us = function()
      ffi.C.gettimeofday(tv, nil)
      return tonumber(tv.tv_sec) * 1000000 + tonumber(tv.tv_usec)
   end
else
   common.now_us = function() return 0 end
end

-- delay() of a connection with nothing left to send: "never", the run ends long before.
common.PARK_MS = 24 * 3600 * 1000

function common.required(name)
   return os.getenv(name) or error(name .. " is not set")
end

-- The non-empty lines of a file.
function common.read_lines(file_path)
   local lines = {}
   for line in io.lines(file_path) do
      line = line:gsub("\r$", "")
      if line ~= "" then lines[#lines + 1] = line end
   end
   return lines
end

-- The window from the first request sent to the last answer received, across threads (each
-- keeps globals first_us and last_us); wrk's own duration also counts its start-up and the
-- wait for SIGINT, and is the answer when the clock is missing.
function common.window_us(threads, duration_us)
   local first, last = nil, nil
   for _, thread in ipairs(threads) do
      local t_first, t_last = thread:get("first_us") or 0, thread:get("last_us") or 0
      if t_first > 0 and (first == nil or t_first < first) then first = t_first end
      if t_last > 0 and (last == nil or t_last > last) then last = t_last end
   end
   if first and last and last > first then return last - first end
   return duration_us
end

return common
