-- The prelude's first chunk: errors that name the user's file:line, and option checking.
-- The prelude is the dk API every Lua state runs first, in chunks that Prelude.swift runs in
-- order as chunk(dk, host, internal): `dk` is the API table the chunks fill, `host` the Swift
-- functions of HostFunctions.swift plus `version`, and `internal` what a chunk shares with
-- the chunks after it. This one shares raise, where, typename, sorted_keys, with, check_fields
-- and expected_name.
local _, host, internal = ...

-- The start of every prelude chunk's name (Prelude.chunkNamePrefix), in tracebacks "dk/flows:12:".
local PRELUDE = "=dk/"

--------------------------------------------------------------------------------------------
-- Errors and positions: every error names the user's file:line, never the prelude's. A tail
-- call (`return Flow{...}`) leaves no frame of its caller, so the script is compiled without
-- tail calls of its own (LuaState.loadKeepingFrame): its line is on the stack when the API
-- it calls raises.

-- The stack level, counted from `raise`, of the first frame that is neither the prelude
-- nor a C function: the user code that called the API.
local function user_level()
  local level = 3
  while true do
    local info = debug.getinfo(level, "S")
    if not info then return 0 end
    if info.source:sub(1, #PRELUDE) ~= PRELUDE and info.what ~= "C" then return level - 1 end
    level = level + 1
  end
end

local function raise(fmt, ...)
  error(string.format(fmt, ...), user_level())
end

-- The user's file:line that called the API: the first frame outside the prelude and C
-- (the host walks the stack without making a table per frame, as debug.getinfo would).
local where = host.where

local function typename(v)
  local mt = getmetatable(v)
  -- A configuration object is named by its type (LocalRun, dk.results.S3's S3).
  if type(mt) == "table" and mt.__name == "configuration" then return rawget(v, "_type") end
  if type(mt) == "table" and type(mt.__name) == "string" then return mt.__name end
  return type(v)
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b)
    if type(a) ~= type(b) then return type(a) < type(b) end
    if type(a) == "boolean" then return not a and b end  -- false first: one order for switch's keys
    return (type(a) == "string" or type(a) == "number") and a < b
  end)
  return keys
end

-- A copy of `base` with the fields of `extra` added (option schemas that share fields).
local function with(base, extra)
  local t = {}
  for k, v in pairs(base) do t[k] = v end
  for k, v in pairs(extra) do t[k] = v end
  return t
end

--------------------------------------------------------------------------------------------
-- Option checking, shared by tasks and configuration objects.

local checkers = {
  string = function(v) return type(v) == "string" end,
  boolean = function(v) return type(v) == "boolean" end,
  number = function(v) return type(v) == "number" end,
  ["number>=0"] = function(v) return type(v) == "number" and v >= 0 end,
  ["number>0"] = function(v) return type(v) == "number" and v > 0 end,
  ["integer>=0"] = function(v) return math.type(v) == "integer" and v >= 0 end,
  ["integer>=1"] = function(v) return math.type(v) == "integer" and v >= 1 end,
  table = function(v) return type(v) == "table" and getmetatable(v) == nil end,
  ["function"] = function(v) return type(v) == "function" end,
  strings = function(v)
    if type(v) ~= "table" then return false end
    for k, s in pairs(v) do
      if math.type(k) ~= "integer" or type(s) ~= "string" then return false end
    end
    return true
  end,
  string_map = function(v)
    if type(v) ~= "table" then return false end
    for k, s in pairs(v) do
      if type(k) ~= "string" or type(s) ~= "string" then return false end
    end
    return true
  end,
  ["string|strings"] = function(v, checks) return type(v) == "string" or checks.strings(v) end,
  functions = function(v)
    if type(v) ~= "table" or getmetatable(v) ~= nil then return false end
    for k, f in pairs(v) do
      if math.type(k) ~= "integer" or type(f) ~= "function" then return false end
    end
    return true
  end,
}

local expected_names = {
  ["number>=0"] = "non-negative number", ["number>0"] = "positive number",
  ["integer>=0"] = "non-negative integer", ["integer>=1"] = "positive integer",
  table = "table", strings = "list of strings", string_map = "table of strings",
  ["string|strings"] = "string or list of strings", functions = "list of functions",
}

-- Whether `v` passes the check `kind` (a checker's name, or a function returning ok and
-- what it expects), and what the check expects, in words.
local function check_value(kind, v)
  if type(kind) == "function" then return kind(v) end
  return checkers[kind](v, checkers), expected_names[kind] or kind
end

-- What the check `kind` expects, in words ("positive integer").
local function expected_name(kind)
  local _, expected = check_value(kind, nil)
  return expected
end

-- Checks `options` against `schema` (field -> checker name or a function returning ok, expected).
-- `what` names the call for messages, as lauxlib does: "bad argument #2 to 'task' (...)".
local function check_fields(options, schema, what)
  for _, k in ipairs(sorted_keys(options)) do
    local kind = schema[k]
    if kind == nil then
      local known = sorted_keys(schema)
      raise("%s (unknown field '%s'; known fields: %s)", what, tostring(k), table.concat(known, ", "))
    end
    local v = options[k]
    local ok, expected = check_value(kind, v)
    if not ok then
      raise("%s (field '%s': %s expected, got %s)", what, k, expected, typename(v))
    end
  end
end

internal.raise, internal.where, internal.typename = raise, where, typename
internal.sorted_keys, internal.with, internal.check_fields = sorted_keys, with, check_fields
internal.expected_name = expected_name
