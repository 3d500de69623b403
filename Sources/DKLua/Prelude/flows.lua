-- The prelude's flow DSL: triggers, tasks, parameters, flows and how calls, bind and map
-- build their graph, flow:run, signals and logging from tasks; and the host side, dk._describe
-- and dk._invoke, through which Swift reads the graph back and calls tasks. Called as
-- chunk(dk, host, internal) after config.lua (see checks.lua); shares all_flows with the REPL.
local dk, host, internal = ...
local raise, where, typename, sorted_keys = internal.raise, internal.where, internal.typename, internal.sorted_keys
local check_fields, with = internal.check_fields, internal.with
local Config, FLOW_CONFIG, config_value = internal.Config, internal.FLOW_CONFIG, internal.config_value
local is_result = internal.is_result

local Task, Flow, Ref, Unmapped, Flattened, Constant, TriggerMT, Signal, FlowState, Validator =
  {}, {}, {}, {}, {}, {}, {}, {}, {}, {}

local unpack = table.unpack

--------------------------------------------------------------------------------------------
-- Triggers (Prefect 1's prefect.triggers).

local function trigger(name, fields)
  local t = { name = name }
  for k, v in pairs(fields or {}) do t[k] = v end
  return setmetatable(t, TriggerMT)
end
local function is_trigger(v) return getmetatable(v) == TriggerMT, "trigger (dk.triggers.*)" end
TriggerMT.__name = "trigger"
TriggerMT.__tostring = function(t) return "trigger " .. t.name end

dk.triggers = {}
for _, name in ipairs { "all_successful", "all_finished", "always_run", "manual_only", "all_failed",
                        "any_successful", "any_failed", "not_all_skipped" } do
  dk.triggers[name] = trigger(name == "always_run" and "all_finished" or name)
end
for _, name in ipairs { "some_successful", "some_failed" } do
  dk.triggers[name] = function(bounds)
    bounds = bounds or {}
    check_fields(bounds, { at_least = "number>=0", at_most = "number>=0" }, "bad argument #1 to '" .. name .. "'")
    return trigger(name, bounds)
  end
end

--------------------------------------------------------------------------------------------
-- Cache validators (Prefect 1's prefect.engine.cache_validators): which cached result a task
-- with cache_for may use instead of running (docs/results.md).

local function validator(name, validate_on) return setmetatable({ name = name, validate_on = validate_on }, Validator) end
local function is_validator(v) return getmetatable(v) == Validator, "cache validator (dk.cache.*)" end
Validator.__name = "cache validator"
Validator.__tostring = function(v) return "cache validator " .. v.name end

dk.cache = {}
for _, name in ipairs { "all_inputs", "all_parameters", "duration_only" } do dk.cache[name] = validator(name) end
for _, name in ipairs { "partial_inputs_only", "partial_parameters_only" } do
  dk.cache[name] = function(validate_on)
    local ok = type(validate_on) == "table" and getmetatable(validate_on) == nil and #validate_on > 0
    for k, v in pairs(ok and validate_on or {}) do
      if math.type(k) ~= "integer" or type(v) ~= "string" then ok = false end
    end
    if not ok then raise("bad argument #1 to '%s' (a list of names expected, got %s)", name, typename(validate_on)) end
    return validator(name, { unpack(validate_on) })
  end
end

--------------------------------------------------------------------------------------------
-- Tasks and parameters.

-- resources = { GPU = 1, MEMORY = 16e9 }: what a Dask worker must offer to run the task (docs/dask.md).
local function is_resources(v)
  local ok = type(v) == "table" and getmetatable(v) == nil
  for k, n in pairs(ok and v or {}) do
    if type(k) ~= "string" or type(n) ~= "number" or not (n >= 0 and n < math.huge) then ok = false end
  end
  return ok, "table of resource names and non-negative numbers"
end

-- limits = { database = 2 }: at most 2 runs of tasks tagged "database" at once (docs/lua-api.md).
local function is_limits(v)
  local ok = type(v) == "table" and getmetatable(v) == nil
  for k, n in pairs(ok and v or {}) do
    if type(k) ~= "string" or math.type(n) ~= "integer" or n < 1 then ok = false end
  end
  return ok, "table of tags and positive integers"
end

local TASK_OPTIONS = {
  name = "string", max_retries = "integer>=0", retry_delay = "number>=0", timeout = "number>0",
  trigger = is_trigger, skip_on_upstream_skip = "boolean", tags = "strings", nout = "integer>=1",
  checkpoint = "boolean", task_run_name = "string", state_handlers = "functions", on_failure = "function",
  result = is_result, target = "string", cache_for = "number>0", cache_key = "string", cache_validator = is_validator,
  resources = is_resources, priority = function(v) return math.type(v) == "integer", "integer" end,
  fuse = "boolean",
}

-- What the result options mean together (each alone is checked by TASK_OPTIONS).
local function check_result_options(o, what)
  if o.target ~= nil and o.checkpoint == false then
    raise("%s (a task with a target keeps its result there: checkpoint = false contradicts target)", what)
  end
  for _, k in ipairs { "cache_key", "cache_validator" } do
    if o[k] ~= nil and o.cache_for == nil then
      raise("%s (field '%s' needs cache_for: without it the task is never cached)", what, k)
    end
  end
end

local next_uid = 0

local function new_task(fields)
  next_uid = next_uid + 1
  fields.uid = next_uid
  return setmetatable(fields, Task)
end

local function is_task(v) return getmetatable(v) == Task end

-- The parameter names of a Lua function, from the debug library.
local function signature(fn)
  local info = debug.getinfo(fn, "uS")
  local params = {}
  for i = 1, info.nparams do params[i] = debug.getlocal(fn, i) end
  return params, info.isvararg, info.short_src .. ":" .. info.linedefined
end

--- task([name], [options], fn): a task running fn. Options follow Prefect 1's Task.
function dk.task(...)
  local args = table.pack(...)
  local i, name, options = 1, nil, {}
  if type(args[i]) == "string" then name = args[i]; i = i + 1 end
  if type(args[i]) == "table" and getmetatable(args[i]) == nil then options = args[i]; i = i + 1 end
  local fn = args[i]
  if type(fn) ~= "function" then
    raise("bad argument #%d to 'task' (function expected, got %s)", i, args.n < i and "no value" or typename(fn))
  end
  if args.n > i then raise("bad argument #%d to 'task' (nothing expected after the function)", i + 1) end
  check_fields(options, TASK_OPTIONS, "bad argument #" .. (i - 1) .. " to 'task'")
  check_result_options(options, "bad argument #" .. (i - 1) .. " to 'task'")
  local params, vararg, defined = signature(fn)
  local opts = {}
  for k, v in pairs(options) do opts[k] = v end
  if type(opts.tags) == "table" then opts.tags = { unpack(opts.tags) } end
  if opts.resources then opts.resources = with(opts.resources, {}) end
  name = name or opts.name or defined
  opts.name = nil
  return new_task { kind = "task", name = name, fn = fn, options = opts, params = params,
                    vararg = vararg, source = where() }
end

local function copy_task(t)
  return new_task { kind = t.kind, name = t.name, fn = t.fn, options = t.options, params = t.params,
                    vararg = t.vararg, source = where() }
end

local function has_param(t, key)
  for _, p in ipairs(t.params) do if p == key then return true end end
  return t.vararg and key:match("^#%d+$") ~= nil
end

local function describe_params(t)
  if #t.params == 0 then return t.vararg and "only positional arguments (...)" or "no arguments" end
  return "parameters: " .. table.concat(t.params, ", ") .. (t.vararg and ", ..." or "")
end

-- Finds what cannot cross states (functions, userdata, threads, cycles) in a value;
-- returns a description of the first problem, or nil.
local function unserialisable(v, path, seen)
  local t = type(v)
  if t == "function" or t == "userdata" or t == "thread" then
    return string.format("%s is a %s", path, t)
  end
  if t ~= "table" then return nil end
  if seen[v] then return path .. " is part of a cycle" end
  seen[v] = true
  for _, k in ipairs(sorted_keys(v)) do
    local kt = type(k)
    if kt ~= "string" and kt ~= "number" and kt ~= "boolean" then
      return string.format("%s has a %s key", path, kt)
    end
    local problem = unserialisable(v[k], string.format("%s[%q]", path, k), seen)
    if problem then return problem end
  end
  seen[v] = nil
  return nil
end

--- Parameter(name, {default=, required=}): a flow input, given at run time.
function dk.Parameter(name, options)
  if type(name) ~= "string" then raise("bad argument #1 to 'Parameter' (string expected, got %s)", typename(name)) end
  options = options or {}
  if type(options) ~= "table" then raise("bad argument #2 to 'Parameter' (table expected, got %s)", typename(options)) end
  check_fields(options, { default = function(v)
    local problem = unserialisable(v, "default", {})
    return problem == nil, "a value that can cross states (" .. tostring(problem) .. ")"
  end, required = "boolean" }, "bad argument #2 to 'Parameter'")
  local required = options.required
  if required == nil then required = options.default == nil end
  return new_task { kind = "parameter", name = name, params = {}, vararg = false, options = {},
                    default = options.default, required = required, source = where() }
end

--- dk.unmapped(x): an argument of t:map that is passed whole to every child.
function dk.unmapped(v) return setmetatable({ value = v }, Unmapped) end

--- dk.flatten(x): an argument of t:map whose list of lists (or a mapped task's lists) is
--- mapped over as one list (Prefect 1's flatten).
function dk.flatten(v)
  if not (is_task(v) or getmetatable(v) == Ref) then
    raise("bad argument #1 to 'flatten' (task expected, got %s)", typename(v))
  end
  return setmetatable({ value = v }, Flattened)
end

--- dk.constant(x): x as a constant argument, even when it is a table that looks like named arguments.
function dk.constant(v) return setmetatable({ value = v }, Constant) end

--------------------------------------------------------------------------------------------
-- Flows: building the graph.

local flow_stack = {}
local function current_flow() return flow_stack[#flow_stack] end

-- Every flow made in this state, oldest first (for the REPL).
local all_flows = {}

-- A flow whose graph tables were let go for its run (dk._release_graph) cannot change.
local function check_building(flow)
  if flow._edges == nil then raise("flow '%s' is running: its graph cannot change any more", flow.name) end
end

local function add_task(flow, t)
  if flow._slug[t] then return end
  check_building(flow)
  if not is_task(t) then raise("a task expected, got %s", typename(t)) end
  local slug = t.name
  if t.kind == "parameter" then
    local other = flow._by_slug[slug]
    if other then
      raise("flow '%s' already has a %s named '%s' (from %s)", flow.name,
            other.kind == "parameter" and "parameter" or "task", slug, other.source)
    end
  else
    -- Copies of a task are name, name-2, name-3, ...; the counter keeps this linear.
    local n = flow._copies[t.name] or 1
    while flow._by_slug[slug] do n = n + 1; slug = t.name .. "-" .. n end
    flow._copies[t.name] = n
  end
  flow._slug[t] = slug
  flow._by_slug[slug] = t
  flow._tasks[#flow._tasks + 1] = t
end

local function bound_at(flow, t, key)
  local keys = flow._bound[t]
  return keys and keys[key]
end

local function mark_bound(flow, t, key, source)
  if not has_param(t, key) then
    raise("bad argument '%s' to task '%s' (its function has no such parameter; %s)", key, t.name, describe_params(t))
  end
  local previous = bound_at(flow, t, key)
  if previous then raise("argument '%s' of task '%s' is already bound (at %s)", key, t.name, previous) end
  flow._bound[t] = flow._bound[t] or {}
  flow._bound[t][key] = source
end

-- `source` is the user's file:line when the caller already knows it.
local function add_edge(flow, upstream, downstream, key, mapped, source, flattened)
  check_building(flow)
  local index
  if getmetatable(upstream) == Ref then upstream, index = upstream.task, upstream.index end
  if not is_task(upstream) then raise("upstream task expected, got %s", typename(upstream)) end
  if not is_task(downstream) then raise("downstream task expected, got %s", typename(downstream)) end
  if downstream.kind == "parameter" then raise("parameter '%s' cannot have upstream tasks", downstream.name) end
  source = source or where()
  add_task(flow, upstream)
  add_task(flow, downstream)
  if key ~= nil then
    if type(key) ~= "string" then raise("edge key must be a string, got %s", typename(key)) end
    mark_bound(flow, downstream, key, source)
  end
  flow._edges[#flow._edges + 1] = { upstream = upstream, downstream = downstream, key = key,
                                    mapped = mapped or false, index = index, source = source,
                                    flattened = flattened or nil }
end

local function set_constant(flow, t, key, value, mapped, source)
  check_building(flow)
  local problem = unserialisable(value, key, {})
  if problem then
    raise("bad argument '%s' to task '%s' (a constant must be nil, a boolean, a number, a string or a table of those: %s)",
          key, t.name, problem)
  end
  add_task(flow, t)
  mark_bound(flow, t, key, source or where())
  flow._constants[#flow._constants + 1] = { task = t, key = key, value = value, mapped = mapped or false }
end

local function bind_one(flow, t, key, v, mapped, source)
  local mt = getmetatable(v)
  if mt == Unmapped then v, mapped, mt = v.value, false, getmetatable(v.value) end
  if mt == Flattened then
    if not mapped then raise("bad argument '%s' to task '%s' (dk.flatten is for the arguments of t:map)", key, t.name) end
    add_edge(flow, v.value, t, key, true, source, true)
  elseif mt == Constant then
    set_constant(flow, t, key, v.value, mapped, source)
  elseif mt == Task or mt == Ref then
    add_edge(flow, v, t, key, mapped, source)
  elseif v ~= nil then
    set_constant(flow, t, key, v, mapped, source)
  end
end

-- Binds call arguments: positional ones to the function's parameters in order (extra ones of
-- a vararg function to "#n"), named ones by parameter name.
local function bind_arguments(flow, t, positional, named, mapped, source)
  source = source or where()
  for i = 1, positional.n do
    local key = t.params[i] or (t.vararg and ("#" .. i))
    if not key then
      raise("bad argument #%d to task '%s' (its function takes %d argument%s)", i, t.name, #t.params,
            #t.params == 1 and "" or "s")
    end
    bind_one(flow, t, key, positional[i], mapped, source)
  end
  if next(named) == nil then return end
  for _, key in ipairs(sorted_keys(named)) do
    if type(key) ~= "string" then raise("bad argument to task '%s' (argument names must be strings)", t.name) end
    bind_one(flow, t, key, named[key], mapped, source)
  end
end

-- A single plain table of string keys is a table of named arguments, unless the function
-- takes exactly one parameter that the table does not name: then it is that argument.
local function is_named_arguments(t, args)
  local tbl = args[1]
  if args.n ~= 1 or type(tbl) ~= "table" or getmetatable(tbl) ~= nil or next(tbl) == nil then
    return false
  end
  for k in pairs(tbl) do
    if type(k) ~= "string" then return false end
  end
  return #t.params ~= 1 or t.vararg or tbl[t.params[1]] ~= nil
end

-- Splits the arguments of bind/map: either the call's own arguments, or one table of named
-- arguments, or one table with `flow` holding positional arguments in its array part and
-- named ones under their names.
local function split_arguments(t, ...)
  local args = table.pack(...)
  if args.n == 1 and type(args[1]) == "table" and getmetatable(args[1]) == nil then
    local tbl = args[1]
    -- {1, 2, 3} alone is one argument (a list to map over), not three.
    if tbl.flow ~= nil or is_named_arguments(t, args) then
      local positional, named = { n = #tbl }, {}
      for i = 1, #tbl do positional[i] = tbl[i] end
      for k, v in pairs(tbl) do
        if not (math.type(k) == "integer" and k >= 1 and k <= #tbl) and k ~= "flow" then named[k] = v end
      end
      return positional, named, tbl.flow
    end
  end
  return args, {}, nil
end

local function flow_for(method, t, explicit)
  local flow = explicit or current_flow()
  if flow == nil then
    raise("%s of task '%s' needs a flow: call it inside Flow(name, function() ... end), or pass flow = f", method, t.name)
  end
  if getmetatable(flow) ~= Flow then raise("bad flow given to %s (Flow expected, got %s)", method, typename(flow)) end
  return flow
end

-- What calling a task returns: the task, or with nout = n, n references to its results.
local function handles(t)
  local n = t.options.nout
  if not n then return t end
  local refs = {}
  for i = 1, n do refs[i] = setmetatable({ task = t, index = i }, Ref) end
  return unpack(refs, 1, n)
end

Task.__name = "task"
Task.__index = function(t, k)
  if math.type(k) == "integer" then return setmetatable({ task = t, index = k }, Ref) end
  return Task[k]
end
Task.__tostring = function(t)
  if t.kind == "parameter" then return string.format("Parameter<%s>", t.name) end
  return string.format("Task<%s>", t.name)
end
Ref.__name = "task result"
Ref.__tostring = function(r) return string.format("%s[%d]", tostring(r.task), r.index) end

local NO_POSITIONAL, NO_NAMED = { n = 0 }, {}  -- shared, never written

Task.__call = function(t, ...)
  if t.kind == "parameter" then raise("parameter '%s' cannot be called", t.name) end
  local flow = current_flow()
  if flow == nil then
    raise("task '%s' was called outside a flow: call tasks inside Flow(name, function() ... end), "
          .. "or use t:bind{..., flow = f}", t.name)
  end
  local copy = copy_task(t)
  add_task(flow, copy)
  local args = table.pack(...)
  if is_named_arguments(t, args) then
    bind_arguments(flow, copy, NO_POSITIONAL, args[1], false, copy.source)
  else
    bind_arguments(flow, copy, args, NO_NAMED, false, copy.source)
  end
  return handles(copy)
end

--- t:bind(args...): binds arguments to this task (no copy), in the current or given flow.
function Task:bind(...)
  local positional, named, explicit = split_arguments(self, ...)
  local flow = flow_for("bind", self, explicit)
  add_task(flow, self)
  bind_arguments(flow, self, positional, named, false)
  return handles(self)
end

--- t:map(args...): a copy of t run once per element of its mapped arguments.
function Task:map(...)
  local positional, named, explicit = split_arguments(self, ...)
  local flow = flow_for("map", self, explicit)
  local copy = copy_task(self)
  add_task(flow, copy)
  bind_arguments(flow, copy, positional, named, true)
  return handles(copy)
end

local EDGE_OPTIONS = { flow = function(v) return getmetatable(v) == Flow, "Flow" end, key = "string", mapped = "boolean" }

--- t:set_upstream(u, {flow=, key=, mapped=})
function Task:set_upstream(upstream, options)
  options = options or {}
  check_fields(options, EDGE_OPTIONS, "bad argument #2 to 'set_upstream'")
  add_edge(flow_for("set_upstream", self, options.flow), upstream, self, options.key, options.mapped)
  return self
end

--- t:set_downstream(d, {flow=, key=, mapped=})
function Task:set_downstream(downstream, options)
  options = options or {}
  check_fields(options, EDGE_OPTIONS, "bad argument #2 to 'set_downstream'")
  add_edge(flow_for("set_downstream", self, options.flow), self, downstream, options.key, options.mapped)
  return self
end

--------------------------------------------------------------------------------------------
-- Flow objects.

local FLOW_OPTIONS = with(FLOW_CONFIG, {
  name = "string", tasks = "table", reference_tasks = "table", state_handlers = "functions", on_failure = "function",
  limits = is_limits, fuse = "boolean",
})

--- Flow(name, [options], [body]) or Flow{name=, environment=, ...}
function dk.Flow(a, b, c)
  local options, body, at = {}, nil, 1  -- `at`: the argument number of the options
  if type(a) == "table" and getmetatable(a) == nil then
    options, body = a, b
  elseif type(a) == "string" then
    if type(b) == "table" and getmetatable(b) == nil then options, body, at = b, c, 2 else body = b end
    options = with(options, { name = a })
  else
    raise("bad argument #1 to 'Flow' (string or table expected, got %s)", typename(a))
  end
  check_fields(options, FLOW_OPTIONS, "bad argument #" .. at .. " to 'Flow'")
  if type(options.name) ~= "string" then raise("bad argument #1 to 'Flow' (a flow needs a name)") end
  if body ~= nil and type(body) ~= "function" then
    raise("bad argument #%d to 'Flow' (function expected, got %s)", at + 1, typename(body))
  end
  local flow = setmetatable({
    name = options.name, source = where(), _tasks = {}, _slug = {}, _by_slug = {}, _edges = {},
    _constants = {}, _bound = {}, _config = {}, _copies = {},
    _handlers = options.state_handlers and { unpack(options.state_handlers) }, _on_failure = options.on_failure,
    _limits = options.limits and with(options.limits, {}), _fuse = options.fuse,
  }, Flow)
  for k in pairs(FLOW_CONFIG) do flow._config[k] = options[k] end
  for _, t in ipairs(options.tasks or {}) do add_task(flow, t) end
  if options.reference_tasks then flow:set_reference_tasks(options.reference_tasks) end
  all_flows[#all_flows + 1] = flow
  if body then
    flow_stack[#flow_stack + 1] = flow
    local ok, err = pcall(body, flow)
    flow_stack[#flow_stack] = nil
    if not ok then error(err, 0) end
  end
  return flow
end

Flow.__name = "Flow"
Flow.__index = function(f, k)
  if FLOW_CONFIG[k] then return f._config[k] end
  if k == "limits" then return rawget(f, "_limits") end
  return Flow[k]
end
Flow.__newindex = function(f, k, v)
  if k == "limits" then
    local ok, expected = is_limits(v)
    if v ~= nil and not ok then raise("flow.limits must be a %s, got %s", expected, typename(v)) end
    rawset(f, "_limits", v and with(v, {}))
    return
  end
  local check = FLOW_CONFIG[k]
  if not check then
    raise("flow '%s' has no field '%s' (settable fields: environment, executor, limits, result, run_config, storage)", f.name, tostring(k))
  end
  local ok, expected = check(v)
  if v ~= nil and not ok then
    raise("flow.%s must be %s, got %s", k, expected, getmetatable(v) == Config and v._type or typename(v))
  end
  f._config[k] = v
end
Flow.__tostring = function(f) return string.format("Flow<%s: %d tasks>", f.name, #f._tasks) end

function Flow:add_task(t)
  if not is_task(t) then raise("bad argument #1 to 'add_task' (task expected, got %s)", typename(t)) end
  add_task(self, t)
  return t
end

function Flow:add_edge(upstream, downstream, options)
  options = options or {}
  check_fields(options, { key = "string", mapped = "boolean" }, "bad argument #3 to 'add_edge'")
  add_edge(self, upstream, downstream, options.key, options.mapped)
end

--- flow:set_dependencies(task, {upstream_tasks=, downstream_tasks=, keyword_tasks=, mapped=})
function Flow:set_dependencies(t, options)
  options = options or {}
  check_fields(options, { upstream_tasks = "table", downstream_tasks = "table", keyword_tasks = "table",
                          mapped = "boolean" }, "bad argument #2 to 'set_dependencies'")
  add_task(self, t)
  for _, u in ipairs(options.upstream_tasks or {}) do add_edge(self, u, t, nil, options.mapped) end
  for _, d in ipairs(options.downstream_tasks or {}) do add_edge(self, t, d) end
  bind_arguments(self, t, { n = 0 }, options.keyword_tasks or {}, options.mapped)
end

function Flow:set_reference_tasks(tasks)
  local refs = {}
  for i, t in ipairs(tasks) do
    if not is_task(t) then raise("bad argument #1 to 'set_reference_tasks' (task expected at [%d], got %s)", i, typename(t)) end
    if not self._slug[t] then raise("reference task '%s' is not in flow '%s'", t.name, self.name) end
    refs[i] = t
  end
  rawset(self, "_reference", refs)
end

--- flow:get_tasks{name=}: the flow's tasks, all or those with the name.
function Flow:get_tasks(filter)
  local out = {}
  for _, t in ipairs(self._tasks) do
    if not filter or filter.name == nil or filter.name == t.name then out[#out + 1] = t end
  end
  return out
end

--- flow:run{parameters=, executor=}: runs the flow here and returns its state.
function Flow:run(options)
  options = options or {}
  check_fields(options, { parameters = "table", executor = "string" }, "bad argument #1 to 'run'")
  local ok, state = pcall(host.run_flow, self, options)
  if not ok then raise("%s", state) end
  for _, t in pairs(state.tasks) do setmetatable(t, FlowState) end
  state._slugs = self._slug
  return setmetatable(state, FlowState)
end

FlowState.__name = "state"
FlowState.__index = {
  is_successful = function(s)
    return s.state == "Success" or s.state == "Skipped" or s.state == "Mapped" or s.state == "Cached"
  end,
  is_failed = function(s) return s.state == "Failed" or s.state == "TriggerFailed" or s.state == "TimedOut" end,
  get = function(s, t) return s.tasks and s.tasks[is_task(t) and s._slugs[t] or t] end,
}
FlowState.__tostring = function(s)
  return s.state .. (s.message and ("(\"" .. s.message .. "\")") or "")
end

--------------------------------------------------------------------------------------------
-- The host side: describing flows and invoking tasks.

-- An array of `n` descriptions made as the host reads them: element i is `fill(d, i)`, into
-- one table `d` emptied each time (the host reads an element before the next), so that
-- describing a flow of 100,000 tasks makes no table per task, edge or constant.
local function described(n, fill)
  local d = {}
  return setmetatable({}, {
    __len = function() return n end,
    __index = function(_, i)
      for k in pairs(d) do d[k] = nil end
      fill(d, i)
      return d
    end,
  })
end

function dk._describe(flow)
  check_building(flow)
  local slug = flow._slug
  local tasks = described(#flow._tasks, function(d, i)
    local t = flow._tasks[i]
    d.slug, d.name, d.source, d.params, d.vararg, d.kind = slug[t], t.name, t.source, t.params, t.vararg, t.kind
    if next(t.options) ~= nil then
      for k, v in pairs(t.options) do d[k] = v end
      -- Handlers are functions, called where the task runs: the description only says they exist.
      d.state_handlers = (t.options.state_handlers or t.options.on_failure) and true or nil
      d.on_failure = nil
    end
    if t.options.trigger then d.trigger = { name = t.options.trigger.name, at_least = t.options.trigger.at_least,
                                            at_most = t.options.trigger.at_most } end
    if t.options.result then d.result = config_value(t.options.result) end
    if t.options.cache_validator then
      d.cache_validator = { name = t.options.cache_validator.name, validate_on = t.options.cache_validator.validate_on }
    end
    if t.kind == "parameter" then d.default, d.required = t.default, t.required end
    -- The flow's fuse = false is its tasks' (docs/dask.md, Fusion); true is the default.
    if d.fuse == nil and flow._fuse == false then d.fuse = false end
    if d.fuse then d.fuse = nil end
  end)
  local edges = described(#flow._edges, function(d, i)
    local e = flow._edges[i]
    d.upstream, d.downstream, d.key, d.mapped = slug[e.upstream], slug[e.downstream], e.key, e.mapped
    d.index, d.source, d.flattened = e.index, e.source, e.flattened
  end)
  local constants = described(#flow._constants, function(d, i)
    local c = flow._constants[i]
    d.task, d.key, d.value, d.mapped = slug[c.task], c.key, c.value, c.mapped
  end)
  local reference
  if flow._reference then
    reference = {}
    for i, t in ipairs(flow._reference) do reference[i] = slug[t] end
  end
  local d = { name = flow.name, tasks = tasks, edges = edges, constants = constants, reference_tasks = reference,
              limits = rawget(flow, "_limits") }
  for k in pairs(FLOW_CONFIG) do d[k] = config_value(flow._config[k]) end
  return d
end

-- Lets `flow`'s edges, constants and bound arguments go, which only describing it reads, when
-- it will not be described again (a big flow's run): calling its tasks needs none of them.
function dk._release_graph(flow)
  flow._edges, flow._constants, flow._bound = nil, nil, nil
end

-- The running task's context (dk.context): set while a task or its state handlers run; true
-- while a task runs whose context the host makes on its first read (most tasks read none).
local current_context

local STATE_NAMES = {}
for _, name in ipairs { "Pending", "Running", "Success", "Failed", "Retrying", "Skipped", "TriggerFailed",
                        "TimedOut", "Cancelled", "Mapped", "Paused", "Looped", "Cached" } do STATE_NAMES[name] = true end
local FAILED_STATES = { Failed = true, TriggerFailed = true, TimedOut = true }

-- Runs the state handlers of task `slug` (nil: of the flow) for a change from state `old` to
-- `new` (tables {state=, message=, result=}, as flow:run returns them) and returns the state
-- they leave: each handler's return value, when it returns one, is the new state (Prefect 1's
-- state_handlers); on_failure is called last, with a failed state. A task's handlers run in
-- its `context`, as the task does.
function dk._state_changed(flow, slug, old, new, context)
  current_context = context
  local owner, handlers, on_failure = flow, flow._handlers, flow._on_failure
  if slug then
    owner = flow._by_slug[slug]
    handlers, on_failure = owner.options.state_handlers, owner.options.on_failure
  end
  for _, handler in ipairs(handlers or {}) do
    local returned = handler(owner, old, new)
    if returned ~= nil then
      if type(returned) ~= "table" or not STATE_NAMES[returned.state] then
        -- No user code is on the stack here: the handler's definition is the line to fix.
        local _, _, defined = signature(handler)
        error(string.format("%s: a state handler of %s returned %s, not a state ({ state = \"Success\", message = ..., result = ... }) or nil",
              defined, tostring(owner), type(returned) == "table" and "a table without a known state name" or "a " .. typename(returned)), 0)
      end
      new = returned
    end
  end
  if on_failure and FAILED_STATES[new.state] then on_failure(owner, new) end
  current_context = nil
  return new
end

-- Calls the flow's environment hook `name` (on_start, on_exit), if it has one.
function dk._environment_hook(flow, name)
  local environment = flow._config.environment
  local hook = environment and environment._values[name]
  if hook then hook() end
end

-- The flows a script returned: flows, or one table of flows.
function dk._collect(...)
  local values = table.pack(...)
  if values.n == 1 and type(values[1]) == "table" and getmetatable(values[1]) == nil then
    values = table.pack(unpack(values[1]))
  end
  local flows = {}
  for i = 1, values.n do
    if getmetatable(values[i]) ~= Flow then
      return nil, string.format("the script returned a %s where a Flow was expected (return value #%d)", typename(values[i]), i)
    end
    flows[i] = values[i]
  end
  return flows
end


--- dk.context: the running task's context, with Prefect 1's fields (flow_name, flow_run_id,
--- task_name, task_full_name, task_tags, map_index, parameters, today, loop_count, ...;
--- docs/lua-api.md lists them).
dk.context = setmetatable({}, {
  __index = function(_, k)
    if current_context == true then current_context = host.task_context() end
    return current_context and current_context[k]
  end,
  __newindex = function() raise("dk.context is read-only") end,
})

-- Where the function of task `slug` is defined: its chunk's source name and first and last
-- lines (the host reads its text from the recorded sources, for the task's identity).
function dk._function_span(flow, slug)
  local info = debug.getinfo(flow._by_slug[slug].fn, "S")
  return info.source, info.linedefined, info.lastlinedefined
end

-- What the part of task `slug`'s identity its calls share comes from besides its name: its
-- function and its options table, which every copy of a task (a call in a flow, t:map) shares.
function dk._task_origin(flow, slug)
  local t = flow._by_slug[slug]
  return t.fn, t.options
end

-- Runs task `slug` of `flow` with its arguments (name -> value) and context (true: made when
-- first read).
function dk._invoke(flow, slug, arguments, context)
  local t = flow._by_slug[slug]
  local argv, n = {}, #t.params
  for i, p in ipairs(t.params) do argv[i] = arguments[p] end
  for k, v in pairs(arguments) do
    local i = tonumber(k:match("^#(%d+)$"))
    if i then argv[i] = v; if i > n then n = i end end
  end
  current_context = context
  local nout = t.options.nout
  if nout then
    local results = table.pack(t.fn(unpack(argv, 1, n)))
    current_context = nil
    return { unpack(results, 1, nout) }
  end
  local result = t.fn(unpack(argv, 1, n))
  current_context = nil
  return result
end

-- The message handler of every call into Lua (scripts, tasks, hooks, REPL input): signals
-- pass through, other errors get a traceback.
function dk._msghandler(e)
  current_context = nil
  if getmetatable(e) == Signal then return e end
  if type(e) ~= "string" then
    local mt = getmetatable(e)
    e = (mt and mt.__tostring) and tostring(e) or string.format("(error object is a %s value)", type(e))
  end
  return debug.traceback(e, 2)
end

--------------------------------------------------------------------------------------------
-- Signals and logging from tasks.

Signal.__name = "signal"
Signal.__tostring = function(s) return s.signal .. ": " .. tostring(s.message) end

--- dk.fail(message): ends the task Failed (retried if it has retries left).
function dk.fail(message) error(setmetatable({ signal = "FAIL", message = tostring(message or "failed") }, Signal), 0) end

--- dk.skip(message): ends the task Skipped.
function dk.skip(message) error(setmetatable({ signal = "SKIP", message = tostring(message or "skipped") }, Signal), 0) end

--- dk.loop(result, [message]): runs the task again at once, with dk.context.loop_result = result
--- and dk.context.loop_count one more (Prefect 1's LOOP signal).
function dk.loop(result, message)
  local problem = unserialisable(result, "result", {})
  if problem then raise("bad argument #1 to 'loop' (a value that can cross states expected: %s)", problem) end
  error(setmetatable({ signal = "LOOP", result = result, message = tostring(message or "looped") }, Signal), 0)
end

--- dk.pause([message]): ends the task Paused, waiting for approval; the tasks after it wait too.
--- In a task `dkrun resume` approved (dk.context.resume), it returns, as Prefect 1's pause_task.
function dk.pause(message)
  if dk.context.resume then return end
  error(setmetatable({ signal = "PAUSE", message = tostring(message or "paused") }, Signal), 0)
end

local function format_message(fmt, ...)
  if select("#", ...) > 0 then return string.format(fmt, ...) end
  return tostring(fmt)
end

local function logger(level)
  return function(fmt, ...) host.log(level, format_message(fmt, ...)) end
end

--- dk.log(message, ...) logs at INFO; dk.log.debug/info/warning/error/critical at their level.
dk.log = setmetatable({
  debug = logger("DEBUG"), info = logger("INFO"), warning = logger("WARNING"),
  error = logger("ERROR"), critical = logger("CRITICAL"),
}, { __call = function(_, fmt, ...) host.log("INFO", format_message(fmt, ...)) end })

-- print inside a task is a log line of that task; elsewhere (the script's top level,
-- environment hooks) the host prints it where the run's output goes. Either way it ends the
-- line io.write began.
function print(...)
  local parts = table.pack(...)
  for i = 1, parts.n do parts[i] = tostring(parts[i]) end
  if current_context ~= nil or not dk._silent then host.print(table.concat(parts, "\t", 1, parts.n)) end
end

-- Writes to stdout and stderr (io.write, io.stdout:write, io.stderr:write, io.output():write)
-- go through the host, line by line, where print's lines go: inside a task, lines of its log
-- (stderr's at WARNING), never straight onto a stream that may carry JSON events or frames.
-- Other files write as they always do.
local stdout, stderr = io.stdout, io.stderr
local file_methods = getmetatable(stdout).__index
local write_file = file_methods.write

function file_methods.write(file, ...)
  if file ~= stdout and file ~= stderr then return write_file(file, ...) end
  local parts = table.pack(...)
  for i = 1, parts.n do
    local v = parts[i]
    if math.type(v) == "integer" then
      parts[i] = string.format("%d", v)
    elseif math.type(v) == "float" then
      parts[i] = string.format("%.14g", v)
    elseif type(v) ~= "string" then
      raise("bad argument #%d to 'write' (string expected, got %s)", i, typename(v))
    end
  end
  if current_context ~= nil or not dk._silent then
    host.write(file == stderr and "stderr" or "stdout", table.concat(parts, "", 1, parts.n))
  end
  return file
end

function io.write(...)
  return io.output():write(...)
end

internal.all_flows = all_flows
internal.current_flow, internal.Task, internal.Ref, internal.Flow = current_flow, Task, Ref, Flow  -- for control.lua
