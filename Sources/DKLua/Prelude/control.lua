-- The prelude's control flow, Prefect 1's prefect.tasks.control_flow: dk.case, dk.merge,
-- dk.ifelse and dk.switch. They only add tasks and edges, as Prefect's do, so every executor
-- runs them with the rules it has (a CompareValue task skips what it gates, Merge's trigger
-- lets it run after skipped branches). Called as chunk(dk, host, internal) after flows.lua
-- (see checks.lua).
local dk, _, internal = ...
local raise, typename, sorted_keys, check_fields = internal.raise, internal.typename, internal.sorted_keys, internal.check_fields
local current_flow, all_flows = internal.current_flow, internal.all_flows
local Task, Ref, Flow = internal.Task, internal.Ref, internal.Flow

local unpack = table.unpack

--------------------------------------------------------------------------------------------
-- Python's view of values: Prefect names its helper tasks and words its messages with str()
-- (`case(True)`, `CompareValue: "a"`), compares with == and branches on bool().

local python_repr

-- Python's repr() of a float: the shortest digits that read back the same, in exponent form
-- below 1e-4 and from 1e16 on, else with at least one decimal (`1.0`).
local function python_float(x)
  if x ~= x then return "nan" end
  if x == math.huge then return "inf" elseif x == -math.huge then return "-inf" end
  local s
  for digits = 1, 17 do
    s = string.format("%." .. (digits - 1) .. "e", x)
    if tonumber(s) == x then break end
  end
  local sign, first, rest, exponent = s:match("^(-?)(%d)%.?(%d*)e([-+]%d+)$")
  local mantissa, e = (first .. rest):gsub("0+$", ""), tonumber(exponent)
  if mantissa == "" then mantissa = "0" end
  if e < -4 or e >= 16 then
    local dot = #mantissa > 1 and "." .. mantissa:sub(2) or ""
    return string.format("%s%s%se%s%02d", sign, mantissa:sub(1, 1), dot, e < 0 and "-" or "+", math.abs(e))
  elseif e < 0 then
    return sign .. "0." .. string.rep("0", -e - 1) .. mantissa
  elseif #mantissa <= e + 1 then
    return sign .. mantissa .. string.rep("0", e + 1 - #mantissa) .. ".0"
  end
  return sign .. mantissa:sub(1, e + 1) .. "." .. mantissa:sub(e + 2)
end

local ESCAPES = { ["\\"] = "\\\\", ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }

local function python_string_repr(s)
  local quote = (s:find("'", 1, true) and not s:find('"', 1, true)) and '"' or "'"
  local body = s:gsub("[%c\\" .. quote .. "]", function(c)
    return ESCAPES[c] or (c == quote and "\\" .. c) or string.format("\\x%02x", c:byte())
  end)
  return quote .. body .. quote
end

-- A list is a table whose keys are exactly 1..n (as values crossing states); the keys of a
-- map are in sorted order, where Python keeps the order they were inserted in.
function python_repr(v)
  local t = type(v)
  if v == nil then return "None"
  elseif t == "boolean" then return v and "True" or "False"
  elseif math.type(v) == "float" then return python_float(v)
  elseif t == "string" then return python_string_repr(v)
  elseif t ~= "table" then return tostring(v)
  end
  local keys, parts = sorted_keys(v), {}
  if #keys == #v then
    for i = 1, #v do parts[i] = python_repr(v[i]) end
    return "[" .. table.concat(parts, ", ") .. "]"
  end
  for i, k in ipairs(keys) do parts[i] = python_repr(k) .. ": " .. python_repr(v[k]) end
  return "{" .. table.concat(parts, ", ") .. "}"
end

local function python_str(v)
  if type(v) == "string" then return v end
  return python_repr(v)
end

-- Python's ==: tables by content (Lua's == compares them by identity).
local function equal(a, b)
  if a == b then return true end
  if type(a) ~= "table" or type(b) ~= "table" then return false end
  for k, v in pairs(a) do
    if not equal(v, b[k]) then return false end
  end
  for k in pairs(b) do
    if a[k] == nil then return false end
  end
  return true
end

-- Python's bool(): None, False, zero, "" and empty collections are false (Lua: nil and false).
local function python_truth(v)
  if v == nil or v == false or v == 0 or v == "" then return false end
  if type(v) == "table" then return next(v) ~= nil end
  return true
end

--------------------------------------------------------------------------------------------
-- Checks and the helper tasks.

local function is_handle(v)
  local mt = getmetatable(v)
  return mt == Task or mt == Ref
end

-- A task or one of its results (t[1], or a value of a task with nout).
local function check_handle(v, position, fname)
  if not is_handle(v) then
    raise("bad argument #%d to '%s' (task expected, got %s)", position, fname, typename(v))
  end
end

local function flow_here(fname)
  local flow = current_flow()
  if flow == nil then
    raise("dk.%s was called outside a flow: call it inside Flow(name, function() ... end)", fname)
  end
  return flow
end

-- Prefect's CompareValue: succeeds when its input `value` equals `match`, else raises SKIP,
-- which skips the tasks downstream of it.
local function compare_value(match, name, options)
  return dk.task(name, options or {}, function(value)
    if not equal(value, match) then
      dk.skip(string.format('Provided value "%s" did not match "%s"', python_str(value), python_str(match)))
    end
  end)
end

--------------------------------------------------------------------------------------------
-- case

-- Runs body and finds the tasks it adds to flows: the flow they were added to, and where they
-- and the edges made meanwhile start in its lists. Prefect's case collects them in
-- Flow.add_task; the lists only grow, so their lengths before and after tell the same.
local function run_collecting(body)
  local before = {}
  -- A running flow (dk._release_graph) has no edge list; adding to it fails in add_task.
  for i, f in ipairs(all_flows) do before[i] = { #f._tasks, f._edges and #f._edges or 0 } end
  local results = table.pack(body())
  local flow, first_task, first_edge
  for i, f in ipairs(all_flows) do
    local tasks, edges = unpack(before[i] or { 0, 0 })  -- a flow made in the body had none
    if #f._tasks > tasks then
      if flow then
        raise("dk.case: its function added tasks to flow '%s' and flow '%s'; one case gates the tasks of one flow",
              flow.name, f.name)
      end
      flow, first_task, first_edge = f, tasks + 1, edges + 1
    end
  end
  return results, flow, first_task, first_edge
end

--- dk.case(cond, value, body): the tasks body adds run only when cond's result equals value
--- (else they are Skipped); returns what body returns.
function dk.case(cond, value, body)
  check_handle(cond, 1, "case")
  if is_handle(value) then raise("bad argument #2 to 'case' (the value cannot be a task)") end
  if type(body) ~= "function" then raise("bad argument #3 to 'case' (function expected, got %s)", typename(body)) end
  local results, flow, first, first_edge = run_collecting(body)
  if flow == nil then
    if current_flow() == nil then
      raise("dk.case was called outside a flow and its function added no task to one: call it inside "
            .. "Flow(name, function() ... end), or bind tasks with flow = f in it")
    end
    return unpack(results, 1, results.n)
  end
  -- Parameters stay root tasks (as in Prefect, which leaves them and constants out of a case).
  local last, inside = #flow._tasks, {}
  for i = first, last do
    local t = flow._tasks[i]
    if t.kind ~= "parameter" then inside[t] = true end
  end
  if next(inside) == nil then return unpack(results, 1, results.n) end
  -- Prefect's case.__exit__: the tasks without an upstream task in the block hang from the
  -- comparison, the others follow them (nested cases: the inner comparison is in the block).
  -- An edge between two tasks of the block was made after them, so in the body.
  local follows = {}
  for i = first_edge, #flow._edges do
    local e = flow._edges[i]
    if inside[e.downstream] and inside[e.upstream] then follows[e.downstream] = true end
  end
  local compare = compare_value(value, "case(" .. python_str(value) .. ")")
  flow:add_edge(cond, compare, { key = "value" })
  for i = first, last do
    local t = flow._tasks[i]
    if inside[t] and not follows[t] then flow:add_edge(compare, t) end
  end
  return unpack(results, 1, results.n)
end

--------------------------------------------------------------------------------------------
-- switch, ifelse, merge

local MAPPED_OPTION = { mapped = "boolean" }

-- Prefect's switch: for each (value, task) a CompareValue of cond upstream of the task.
local function add_branches(flow, cond, branches, mapped)
  for _, b in ipairs(branches) do
    local value, t = b[1], b[2]
    if getmetatable(t) == Ref then t = t.task end
    local compare = compare_value(value, string.format('CompareValue: "%s"', python_str(value)), { tags = { "switch" } })
    flow:add_edge(cond, compare, { key = "value", mapped = mapped })
    flow:set_dependencies(t, { upstream_tasks = { compare }, mapped = mapped })
  end
end

--- dk.switch(cond, { [value] = task, ... }, {mapped=}): runs the task whose value equals
--- cond's result; the others are Skipped.
function dk.switch(cond, cases, options)
  check_handle(cond, 1, "switch")
  if type(cases) ~= "table" or getmetatable(cases) ~= nil then
    raise("bad argument #2 to 'switch' (table of value = task expected, got %s)", typename(cases))
  end
  options = options or {}
  check_fields(options, MAPPED_OPTION, "bad argument #3 to 'switch'")
  local flow = flow_here("switch")
  local branches = {}
  -- Sorted: the same script builds the same graph (Lua does not keep the order of a table).
  for _, value in ipairs(sorted_keys(cases)) do
    local t = cases[value]
    if not is_handle(t) then
      raise("bad argument #2 to 'switch' (task expected at [%q], got %s)", value, typename(t))
    end
    branches[#branches + 1] = { value, t }
  end
  add_branches(flow, cond, branches, options.mapped)
end

--- dk.ifelse(cond, true_task, false_task, {mapped=}): runs true_task when cond's result is
--- true as Python's bool() sees it, else false_task; either may be nil.
function dk.ifelse(cond, true_task, false_task, options)
  check_handle(cond, 1, "ifelse")
  for position = 2, 3 do
    local t = select(position - 1, true_task, false_task)
    if t ~= nil and not is_handle(t) then
      raise("bad argument #%d to 'ifelse' (task or nil expected, got %s)", position, typename(t))
    end
  end
  options = options or {}
  check_fields(options, MAPPED_OPTION, "bad argument #4 to 'ifelse'")
  local flow = flow_here("ifelse")
  local branches = {}
  if true_task ~= nil then branches[#branches + 1] = { true, true_task } end
  if false_task ~= nil then branches[#branches + 1] = { false, false_task } end
  if #branches == 0 then return end
  local as_bool = dk.task("as_bool", function(x) return python_truth(x) end)
  add_branches(flow, options.mapped and as_bool:map(cond) or as_bool(cond), branches, options.mapped)
end

local MERGE_OPTIONS = { flow = function(v) return getmetatable(v) == Flow, "Flow" end, mapped = "boolean", name = "string" }

--- dk.merge(t1, t2, ..., [{flow=, mapped=, name=}]): a task whose result is the first result
--- of t1, t2, ... that is not nil; Skipped when they were all skipped.
function dk.merge(...)
  local tasks = table.pack(...)
  local options = {}
  local last = tasks[tasks.n]
  if type(last) == "table" and getmetatable(last) == nil then options, tasks.n = last, tasks.n - 1 end
  check_fields(options, MERGE_OPTIONS, "bad argument #" .. (tasks.n + 1) .. " to 'merge'")
  if tasks.n == 0 then raise("bad argument #1 to 'merge' (task expected, got no value)") end
  for i = 1, tasks.n do check_handle(tasks[i], i, "merge") end
  local flow = options.flow or flow_here("merge")
  -- Prefect's Merge takes its inputs as task_1, task_2, ... and looks at them sorted by
  -- name, so from ten inputs on task_10 comes before task_2: the same order here.
  local order = {}
  for i = 1, tasks.n do order[i] = i end
  table.sort(order, function(a, b) return tostring(a) < tostring(b) end)
  local merge = dk.task(options.name or "Merge", { trigger = dk.triggers.not_all_skipped, skip_on_upstream_skip = false },
    function(...)
      local results = { ... }
      for _, i in ipairs(order) do
        if results[i] ~= nil then return results[i] end
      end
    end)
  for i = 1, tasks.n do flow:add_edge(tasks[i], merge, { key = "#" .. i, mapped = options.mapped }) end
  return merge
end
