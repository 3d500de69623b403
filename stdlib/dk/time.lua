--- dk.time: wall-clock time with fractions of a second, sleeping, and formatting.
-- now() is seconds since the Unix epoch; sleep(seconds) wakes early at the task's deadline
-- (its timeout) and for Ctrl-C, raising;
-- format(t, [fmt]) is os.date in UTC (default ISO 8601, "2026-11-21T21:47:56Z").
local native = require("dk")._native

local time = {}

function time.now() return native.now() end

function time.sleep(seconds)
  if type(seconds) ~= "number" or seconds < 0 then
    error("bad argument #1 to 'sleep' (non-negative number expected, got " .. type(seconds) .. ")", 2)
  end
  native.sleep(seconds)
end

function time.format(t, fmt)
  return os.date("!" .. (fmt or "%Y-%m-%dT%H:%M:%SZ"), math.floor(t or native.now()))
end

return time
