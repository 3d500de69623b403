-- The prelude's REPL helpers: formatting results, completing names, listing and running the
-- flows made so far (dk._repl_*, called by REPLSession.swift). Called as chunk(dk, host,
-- internal) last (see checks.lua).
local dk, _, internal = ...
local sorted_keys, all_flows, STDLIB = internal.sorted_keys, internal.all_flows, internal.STDLIB

-- A value as the REPL prints it: tables pretty-printed to a depth, dk objects by tostring.
local function format_value(v, depth, indent, seen)
  if type(v) == "string" then return string.format("%q", v) end
  if type(v) ~= "table" or getmetatable(v) ~= nil and getmetatable(v).__tostring then return tostring(v) end
  if seen[v] then return "<cycle>" end
  if depth == 0 then return "{...}" end
  local keys = sorted_keys(v)
  if #keys == 0 then return "{}" end
  seen[v] = true
  local parts, n = {}, #v
  for _, k in ipairs(keys) do
    local key = (math.type(k) == "integer" and k >= 1 and k <= n) and "" or
      ((type(k) == "string" and k:match("^[%a_][%w_]*$")) and k .. " = " or "[" .. format_value(k, 1, "", seen) .. "] = ")
    parts[#parts + 1] = indent .. "  " .. key .. format_value(v[k], depth - 1, indent .. "  ", seen)
    if #parts >= 50 then parts[#parts + 1] = indent .. "  ..." break end
  end
  seen[v] = nil
  return "{\n" .. table.concat(parts, ",\n") .. "\n" .. indent .. "}"
end

function dk._repl_format(...)
  local out = {}
  for i = 1, select("#", ...) do out[i] = format_value((select(i, ...)), 3, "", {}) end
  return table.concat(out, "\t")
end

-- Completions of `text` (a name or a dotted/colon path) among globals and table fields.
function dk._repl_complete(text)
  local base, sep, partial = text:match("^(.*)([%.:])([%w_]*)$")
  local scope = _G
  if base then
    for part in base:gmatch("[^%.:]+") do
      if type(scope) ~= "table" then return {} end
      scope = scope[part]
    end
  else
    partial, base, sep = text, "", ""
  end
  local found, seen = {}, {}
  local function add_keys(t)
    if type(t) ~= "table" then return end
    for k in pairs(t) do
      if type(k) == "string" and k:sub(1, #partial) == partial and k:sub(1, 1) ~= "_" and not seen[k] then
        seen[k] = true
        found[#found + 1] = base .. sep .. k
      end
    end
  end
  add_keys(scope)
  local mt = getmetatable(scope)
  if mt then add_keys(type(mt.__index) == "table" and mt.__index or mt) end
  if scope == dk then for name in pairs(STDLIB) do add_keys({ [name] = true }) end end
  table.sort(found)
  return found
end

-- Runs a flow from the REPL (:run), leaving its state in `_`.
function dk._repl_run(name, parameters)
  local state = dk._repl_flow(name):run { parameters = parameters }
  _G._ = state
  return state
end

function dk._repl_flows()
  local names = {}
  for _, f in ipairs(all_flows) do names[#names + 1] = f.name end
  return names
end

-- The flow named `name` (the latest made with that name), or the only/latest flow.
function dk._repl_flow(name)
  for i = #all_flows, 1, -1 do
    if name == nil or all_flows[i].name == name then return all_flows[i] end
  end
  error(name and ("no flow named '" .. name .. "' (see :flows)") or "no flow yet: load a script or make one", 0)
end
