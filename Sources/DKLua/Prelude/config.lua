-- The prelude's configuration objects: environments, run configs, executors and storage
-- (Prefect 1 names, fields and defaults), and the YAML spec files they name. Each is checked
-- when made and stored in the flow's description. Called as chunk(dk, host, internal) after
-- checks.lua (see there); shares Config, CONFIG_TYPES, FLOW_CONFIG and config_value with the
-- chunks after it.
local dk, host, internal = ...
local raise, typename, check_fields, with = internal.raise, internal.typename, internal.check_fields, internal.with

local Config = {}

-- The names of the configuration types: dk.<name>, and globals too.
local CONFIG_TYPES = {}

local CONFIG_KINDS = {
  environment = "an environment (LocalEnvironment, DaskKubernetesEnvironment, DaskOnKubernetesEnvironment)",
  run_config = "a run config (LocalRun, KubernetesRun)",
  executor = "an executor (LocalExecutor, LocalDaskExecutor, DaskExecutor)",
  storage = "a storage (Local, Docker)",
}

local function is_config(kind)
  return function(v) return getmetatable(v) == Config and v._kind == kind, CONFIG_KINDS[kind] end
end

local function spec_file(v)
  return type(v) == "string", "path to a YAML Pod spec"
end

local function define_config(type_name, kind, schema, defaults, check)
  CONFIG_TYPES[type_name] = true
  dk[type_name] = function(fields)
    if type(fields) == "string" and type_name == "DaskExecutor" then fields = { address = fields } end
    fields = fields or {}
    if type(fields) ~= "table" or getmetatable(fields) ~= nil then
      raise("bad argument #1 to '%s' (table expected, got %s)", type_name, typename(fields))
    end
    check_fields(fields, schema, "bad argument #1 to '" .. type_name .. "'")
    local values = {}
    for k, v in pairs(defaults) do values[k] = v end
    for k, v in pairs(fields) do values[k] = v end
    local object = setmetatable({ _type = type_name, _kind = kind, _values = values, _loaded = {} }, Config)
    if check then check(object, values) end
    return object
  end
end

Config.__name = "configuration"
Config.__index = function(c, k) return c._values[k] end
Config.__newindex = function(c, k)
  raise("%s objects are read-only (cannot set '%s'); make a new one", c._type, tostring(k))
end
Config.__tostring = function(c) return c._type .. "{...}" end

-- Loads the YAML spec file (a Pod, or a Job) that `field` names, relative to the flow's
-- directory, into the object as `<field without _file/_path>`.
local function load_spec(object, field, kind)
  local path = object._values[field]
  if path == nil then return end
  local ok, spec = pcall(host.yaml_load_file, path)
  if not ok then raise("%s %s: %s", object._type, field, spec) end
  if type(spec) ~= "table" then raise("%s %s '%s' does not hold a YAML mapping", object._type, field, path) end
  if spec.kind ~= nil and spec.kind ~= kind then
    raise("%s %s '%s' must hold a %s spec (kind: %s), not kind: %s", object._type, field, path, kind, kind,
          tostring(spec.kind))
  end
  object._loaded[field:gsub("_file$", ""):gsub("_path$", "")] = spec
end

local function load_pod_spec(object, field) load_spec(object, field, "Pod") end

local function check_worker_bounds(object, values)
  if values.min_workers > values.max_workers then
    raise("bad argument #1 to '%s' (min_workers (%d) is greater than max_workers (%d))", object._type,
          values.min_workers, values.max_workers)
  end
end

local HOOKS = { on_start = "function", on_exit = "function", metadata = "table", labels = "strings" }

define_config("LocalEnvironment", "environment",
  with(HOOKS, { executor = is_config("executor") }), { labels = {} })
define_config("DaskKubernetesEnvironment", "environment",
  with(HOOKS, { min_workers = "integer>=1", max_workers = "integer>=1", work_stealing = "boolean",
                scheduler_logs = "boolean", private_registry = "boolean", docker_secret = "string",
                scheduler_spec_file = spec_file, worker_spec_file = spec_file,
                image_pull_secret = "string|strings", log_k8s_errors = "boolean", startup_timeout = "number>0" }),
  { min_workers = 1, max_workers = 2, work_stealing = true, scheduler_logs = false, private_registry = false,
    labels = {}, log_k8s_errors = false },
  function(object, values)
    check_worker_bounds(object, values)
    if values.private_registry and values.docker_secret == nil then values.docker_secret = "DOCKER_REGISTRY_CREDENTIALS" end
    load_pod_spec(object, "scheduler_spec_file")
    load_pod_spec(object, "worker_spec_file")
  end)
define_config("DaskOnKubernetesEnvironment", "environment",
  with(HOOKS, { base_image = "string", registry_url = "string", python_dependencies = "strings",
                image_name = "string", image_tag = "string", env_vars = "string_map", files = "string_map",
                max_workers = "integer>=1", startup_timeout = "number>0" }),
  { base_image = "python:3.6", python_dependencies = {}, env_vars = {}, files = {}, max_workers = 1, labels = {} })

define_config("LocalRun", "run_config",
  { env = "string_map", working_dir = "string", labels = "strings" }, { env = {}, labels = {} })
define_config("KubernetesRun", "run_config",
  { job_template_path = "string", job_template = "table", image = "string", env = "string_map",
    cpu_limit = "string", cpu_request = "string", memory_limit = "string", memory_request = "string",
    service_account_name = "string", image_pull_secrets = "strings", image_pull_policy = "string",
    labels = "strings" }, { env = {}, labels = {} },
  function(object, values)
    if values.job_template_path ~= nil and values.job_template ~= nil then
      raise("bad argument #1 to 'KubernetesRun' (give job_template or job_template_path, not both)")
    end
    load_spec(object, "job_template_path", "Job")
  end)

define_config("LocalExecutor", "executor", {}, {})
define_config("LocalDaskExecutor", "executor",
  { scheduler = function(v) return v == "threads" or v == "synchronous", "\"threads\" or \"synchronous\"" end,
    num_workers = "integer>=1" }, { scheduler = "threads" })
define_config("DaskExecutor", "executor",
  { address = "string", cluster_class = "string", cluster_kwargs = "table", adapt_kwargs = "table",
    client_kwargs = "table", debug = "boolean" },
  { cluster_kwargs = {}, adapt_kwargs = {}, client_kwargs = {}, debug = false })

define_config("Local", "storage",
  { directory = "string", path = "string", stored_as_script = "boolean", validate = "boolean" },
  { stored_as_script = false, validate = true })
define_config("Docker", "storage",
  { registry_url = "string", base_image = "string", dockerfile = "string", python_dependencies = "strings",
    image_name = "string", image_tag = "string", env_vars = "string_map", files = "string_map",
    local_image = "boolean", ignore_healthchecks = "boolean", build_kwargs = "table" },
  { python_dependencies = {}, env_vars = {}, files = {}, local_image = false, ignore_healthchecks = false })

-- The flow's fields that hold configuration objects, with the check of each.
local FLOW_CONFIG = {
  environment = is_config("environment"), run_config = is_config("run_config"),
  executor = is_config("executor"), storage = is_config("storage"),
}

-- A configuration object as a plain value: functions become "<function file:line>".
local function config_value(c)
  if c == nil then return nil end
  local out = { type = c._type }
  for k, v in pairs(c._values) do
    if type(v) == "function" then
      local info = debug.getinfo(v, "S")
      out[k] = "<function " .. info.short_src .. ":" .. info.linedefined .. ">"
    elseif getmetatable(v) == Config then
      out[k] = config_value(v)
    else
      out[k] = v
    end
  end
  for k, v in pairs(c._loaded) do out[k] = v end
  return out
end

internal.Config, internal.CONFIG_TYPES, internal.FLOW_CONFIG = Config, CONFIG_TYPES, FLOW_CONFIG
internal.config_value = config_value
