-- The prelude's configuration objects: environments, run configs, executors and storage
-- (Prefect 1 names, fields and defaults), and the YAML spec files they name. Each is checked
-- when made and stored in the flow's description. Called as chunk(dk, host, internal) after
-- checks.lua (see there); shares Config, CONFIG_TYPES, FLOW_CONFIG and config_value with the
-- chunks after it.
--
-- Every field of every object is declared here once, with what it does in dkrun or why dkrun
-- refuses it: no field is accepted and then ignored. `dk._config_fields()` hands the table to
-- the host, for `dkrun inspect` and the table of docs/lua-api.md (a test checks they agree).
local dk, host, internal = ...
local raise, typename, check_fields, expected_name = internal.raise, internal.typename, internal.check_fields,
                                                      internal.expected_name

local Config = {}

-- The names of the configuration types: dk.<name>, and globals too.
local CONFIG_TYPES = {}

-- Each type, in the order it was defined: its name, kind, what it is and its fields.
local DEFINED = {}

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

-- A field: its check (see checks.lua), what it does, and its default (nil: none).
local function field(name, check, does, default)
  return { name = name, check = check, does = does, default = default }
end

-- A Prefect 1 field that dkrun refuses, and why.
local function refused(name, why)
  return { name = name, refused = why }
end

-- The entries of the lists given, in order, as one list.
local function fields_of(...)
  local out = {}
  for _, list in ipairs({ ... }) do
    for _, f in ipairs(list) do out[#out + 1] = f end
  end
  return out
end

--- dk.<type_name>{...}: `check(object, values, given)` checks what the fields mean together
--- (`values` with the defaults, `given` as written) and may fill in derived defaults.
local function define_config(type_name, kind, about, fields, check)
  CONFIG_TYPES[type_name] = true
  DEFINED[#DEFINED + 1] = { type = type_name, kind = kind, about = about, fields = fields }
  local schema, refusals, defaults = {}, {}, {}
  for _, f in ipairs(fields) do
    if f.refused then refusals[f.name] = f.refused else schema[f.name] = f.check end
    defaults[f.name] = f.default
  end
  dk[type_name] = function(given)
    if type(given) == "string" and type_name == "DaskExecutor" then given = { address = given } end
    given = given or {}
    if type(given) ~= "table" or getmetatable(given) ~= nil then
      raise("bad argument #1 to '%s' (table expected, got %s)", type_name, typename(given))
    end
    for name, why in pairs(refusals) do
      if given[name] ~= nil then raise("%s.%s: %s", type_name, name, why) end
    end
    check_fields(given, schema, "bad argument #1 to '" .. type_name .. "'")
    local values = {}
    for k, v in pairs(defaults) do values[k] = v end
    for k, v in pairs(given) do values[k] = v end
    local object = setmetatable({ _type = type_name, _kind = kind, _values = values, _loaded = {} }, Config)
    if check then check(object, values, given) end
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
-- directory, into the object as `<field without _file/_path>`. What it holds is checked
-- where the run's objects are made from it (SpecChecks, in Swift), with its Dask config twin.
local function load_spec(object, name)
  local path = object._values[name]
  if path == nil then return end
  local ok, spec = pcall(host.yaml_load_file, path)
  if not ok then raise("%s %s: %s", object._type, name, spec) end
  object._loaded[name:gsub("_file$", ""):gsub("_path$", "")] = spec
end

-- Loads each worker group's worker_spec_file as load_spec does, into `worker_group_specs`
-- by group name; the groups themselves are checked where the cluster is made (WorkerGroups, in Swift).
local function load_group_specs(object)
  local specs = {}
  for name, group in pairs(object._values.worker_groups or {}) do
    local path = type(group) == "table" and group.worker_spec_file
    if type(path) == "string" then
      local ok, spec = pcall(host.yaml_load_file, path)
      if not ok then raise("%s worker_groups.%s.worker_spec_file: %s", object._type, tostring(name), spec) end
      specs[name] = spec
    end
  end
  if next(specs) then object._loaded.worker_group_specs = specs end
end

local function check_worker_bounds(object, values)
  if values.min_workers > values.max_workers then
    raise("bad argument #1 to '%s' (min_workers (%d) is greater than max_workers (%d))", object._type,
          values.min_workers, values.max_workers)
  end
end

--------------------------------------------------------------------------------------------
-- Environments: where and around what a flow runs (Prefect 0.x's, before run configs).

local NO_AGENTS = "labels choose which Prefect agent runs a flow; dkrun has no agents (it runs the flow itself, "
  .. "here or as a Kubernetes Job), so they would do nothing"

local HOOKS = {
  field("on_start", "function", "runs before the flow's first task (on Kubernetes, in the Job's pod); if it raises, "
    .. "no task runs and the flow ends Failed"),
  field("on_exit", "function", "runs after the flow's last task, however the run ended; if it raises, a flow whose "
    .. "tasks succeeded ends Failed"),
  field("metadata", "table", "any table, kept in the flow's payload and shown by `dkrun inspect` "
    .. "(Prefect 1 stores it and does nothing else with it either)"),
  refused("labels", NO_AGENTS),
}

local STARTUP_TIMEOUT = field("startup_timeout", "number>0", "seconds a pod of the run may wait to start (Pending) "
  .. "before the run fails; default 300")

-- The dkrun secrets a run on Kubernetes takes along (docs/kubernetes.md); never in the payload.
local SECRETS = field("secrets", "strings", "dkrun secrets the run's tasks read (dk.secrets.get): dkrun copies them into "
  .. "a Kubernetes Secret owned by the run's Job and mounts it where dk.secrets looks (/var/run/secrets/dkrun) on the "
  .. "Job's pod and the Dask pods", {})

-- Each secret name must be a key of a Kubernetes Secret (and so a file name in the mount).
local function check_secret_names(object, values)
  for _, name in ipairs(values.secrets) do
    if not name:match("^[%w%-%._]+$") or name == "." or name:sub(1, 2) == ".." or #name > 253 then
      raise("%s.secrets: '%s' cannot be the key of a Kubernetes Secret (letters, digits, '-', '_' and '.', not '.' "
            .. "or starting with '..'): rename the dkrun secret", object._type, name)
    end
  end
end

-- The fields that describe the image `dkrun build` makes (Docker storage, DaskOnKubernetesEnvironment).
local IMAGE_FIELDS = {
  field("registry_url", "string", "the registry `dkrun build` pushes the image to; without it, no push"),
  field("image_name", "string", "the image's name; default: the flow's name"),
  field("image_tag", "string", "the image's tag; default: the first 12 characters of the flow's DAG hash"),
  field("python_dependencies", "strings", "pip packages installed in the image", {}),
  field("env_vars", "string_map", "environment variables set in the image (ENV)", {}),
  field("files", "string_map", "files copied into the image: a path on this machine (relative to the flow's "
    .. "directory) to a path in the image", {}),
}

define_config("LocalEnvironment", "environment",
  "the flow runs here, with its hooks around it",
  fields_of({ field("executor", is_config("executor"), "the executor the flow's tasks run with, instead of the "
                      .. "flow's executor (set only one of them)") }, HOOKS))

define_config("DaskKubernetesEnvironment", "environment",
  "the flow runs in a Kubernetes Job, its tasks on a Dask cluster of pods made for the run (docs/kubernetes.md)",
  fields_of({
    field("min_workers", "integer>=0", "the fewest worker pods the cluster keeps (0: none while no task waits)", 1),
    field("max_workers", "integer>=1", "the most worker pods the cluster grows to with the scheduler's load", 2),
    field("work_stealing", "boolean", "sets Dask's distributed.scheduler.work-stealing on every pod", true),
    field("scheduler_logs", "boolean", "adds the scheduler pod's log to the run's at its end", false),
    field("private_registry", "boolean", "the pull secret docker_secret names is made (from the dkrun secret of that "
      .. "name) when it does not exist, and every pod of the run uses it", false),
    field("docker_secret", "string", "the dkrun secret holding the registry's credentials, and the pull secret's "
      .. "name in Kubernetes' spelling; default DOCKER_REGISTRY_CREDENTIALS; only with private_registry = true"),
    field("scheduler_spec_file", spec_file, "a YAML Pod spec for the scheduler (relative to the flow's directory), "
      .. "read when the environment is made; it takes precedence over the quick configuration"),
    field("worker_spec_file", spec_file, "a YAML Pod spec for the workers, as scheduler_spec_file; its `replicas: N` "
      .. "fixes the cluster at N workers"),
    field("worker_groups", "table", "more groups of worker pods, by name: { gpu = { worker_spec_file = \"gpu.yaml\", "
      .. "min_workers = 0, max_workers = 2, resources = { GPU = 1 } } }; each is sized from the tasks that need its "
      .. "resources (docs/kubernetes.md, Worker groups)"),
    field("image_pull_secret", "string|strings", "existing pull secrets every pod of the run names"),
    field("log_k8s_errors", "boolean", "reports the Warning events of the run's pods as they happen", false),
    STARTUP_TIMEOUT,
    SECRETS,
  }, HOOKS),
  function(object, values, given)
    check_worker_bounds(object, values)
    check_secret_names(object, values)
    if given.docker_secret ~= nil and not values.private_registry then
      raise("DaskKubernetesEnvironment.docker_secret: it names the private registry's credentials, which are used "
            .. "only with private_registry = true")
    end
    if values.private_registry and values.docker_secret == nil then values.docker_secret = "DOCKER_REGISTRY_CREDENTIALS" end
    load_spec(object, "scheduler_spec_file")
    load_spec(object, "worker_spec_file")
    load_group_specs(object)
  end)

define_config("DaskOnKubernetesEnvironment", "environment",
  "the flow runs in a Kubernetes Job, its tasks on a Dask cluster of 1 to max_workers pods made for the run, "
    .. "on the image `dkrun build` makes from its image fields",
  fields_of({
    field("base_image", "string", "the image `dkrun build` builds on; default dkrun's base image dkrun/dkrun:VERSION "
      .. "(Prefect's python:3.6 cannot run dkrun); any Debian-based image with python3"),
  }, IMAGE_FIELDS, {
    field("max_workers", "integer>=1", "the most worker pods the cluster grows to with the scheduler's load", 1),
    STARTUP_TIMEOUT,
    SECRETS,
  }, HOOKS), check_secret_names)

--------------------------------------------------------------------------------------------
-- Run configs: the process or Job the flow runs in.

define_config("LocalRun", "run_config",
  "the flow runs here, as a process of its own would (Prefect's local agent)",
  {
    field("env", "string_map", "variables added to this process's environment while the flow runs: tasks read them "
      .. "with os.getenv, and the processes the run starts inherit them (dk.shell.run, the Dask driver and a temporary "
      .. "cluster's workers; not an existing cluster's)", {}),
    field("working_dir", "string", "the current directory while the flow runs (relative to the flow's directory); "
      .. "it must exist"),
    refused("labels", NO_AGENTS),
  },
  function(_, values)
    for name in pairs(values.env) do
      if name == "" or name:find("=", 1, true) then
        raise("LocalRun.env: '%s' cannot name an environment variable (empty, or with '=')", name)
      end
    end
  end)

define_config("KubernetesRun", "run_config",
  "the flow runs in a Kubernetes Job, its tasks as its executor says (docs/kubernetes.md)",
  {
    field("job_template_path", "string", "a YAML Job (relative to the flow's directory), the base of the run's Job"),
    field("job_template", "table", "a Job as a table, the base of the run's Job (give it or job_template_path)"),
    field("image", "string", "the image of the Job's pod and of the run's Dask pods; default: the Docker storage's, "
      .. "else $DKRUN_IMAGE, else dkrun's own"),
    field("env", "string_map", "environment variables of the Job's pod and of the run's Dask pods", {}),
    field("cpu_limit", "string", "the Job's container's resources.limits.cpu"),
    field("cpu_request", "string", "the Job's container's resources.requests.cpu"),
    field("memory_limit", "string", "the Job's container's resources.limits.memory"),
    field("memory_request", "string", "the Job's container's resources.requests.memory"),
    field("service_account_name", "string", "the service account of the Job's pod; default --service-account, else "
      .. "the namespace's default"),
    field("image_pull_secrets", "strings", "existing pull secrets every pod of the run names"),
    field("image_pull_policy", "string", "the Job's container's imagePullPolicy"),
    SECRETS,
    refused("labels", NO_AGENTS),
  },
  function(object, values)
    check_secret_names(object, values)
    if values.job_template_path ~= nil and values.job_template ~= nil then
      raise("bad argument #1 to 'KubernetesRun' (give job_template or job_template_path, not both)")
    end
    load_spec(object, "job_template_path")
  end)

--------------------------------------------------------------------------------------------
-- Executors: how the tasks of a run run.

define_config("LocalExecutor", "executor", "tasks run one at a time, in dkrun's own thread", {})

define_config("LocalDaskExecutor", "executor", "tasks run in parallel on threads, each with a Lua state of its own",
  {
    field("scheduler", function(v) return v == "threads" or v == "synchronous", "\"threads\" or \"synchronous\"" end,
          "\"threads\": a pool of threads; \"synchronous\": one task at a time, as LocalExecutor", "threads"),
    field("num_workers", "integer>=1", "the pool's threads; default: the machine's cores"),
  },
  function(_, values, given)
    if given.num_workers ~= nil and values.scheduler == "synchronous" then
      raise("LocalDaskExecutor.num_workers: the synchronous scheduler runs one task at a time, with no pool of workers")
    end
  end)

-- The fields of a DaskExecutor that make a cluster, which one with an address does not.
local MAKES_A_CLUSTER = { "cluster_class", "cluster_kwargs", "adapt_kwargs" }

define_config("DaskExecutor", "executor",
  "tasks run on a Dask cluster: an existing one, or one made for the run (docs/dask.md)",
  {
    field("address", "string", "the scheduler of an existing cluster to join (tcp://HOST:8786); without it, a "
      .. "temporary cluster is made for the run"),
    field("cluster_class", "string", "the temporary cluster's class: LocalCluster (the default: worker processes "
      .. "where the flow runs) or, with KubernetesRun, dask-kubernetes' KubeCluster (pods made for the run; "
      .. "dask_kubernetes.operator.KubeCluster takes the operator's arguments)"),
    field("cluster_kwargs", "table", "the temporary cluster's arguments (LocalCluster's n_workers, threads_per_worker, "
      .. "...; KubeCluster's: docs/kubernetes.md)", {}),
    field("adapt_kwargs", "table", "makes the temporary cluster adaptive: minimum, maximum, ...", {}),
    field("client_kwargs", "table", "arguments of distributed.Client; its timeout bounds connecting to the scheduler "
      .. "and going without it mid-run", {}),
    field("debug", "boolean", "shows Dask's own log lines and tracebacks", false),
    field("performance_report_path", "string", "writes Dask's performance report of the run (an HTML page) to this "
      .. "file, relative to the directory dkrun runs in, as Prefect's is to its process's; not on Kubernetes"),
  },
  function(object, values, given)
    if values.address ~= nil then
      for _, name in ipairs(MAKES_A_CLUSTER) do
        if given[name] ~= nil then
          raise("DaskExecutor.%s: a DaskExecutor with an address joins that cluster and makes none: give address or "
                .. "%s, not both", name, name)
        end
      end
    end
    local problem = values.cluster_class and host.dask_cluster_class_problem(values.cluster_class)
    if problem then raise("DaskExecutor.cluster_class: %s", problem) end
    -- The operator KubeCluster's custom_cluster_spec may be a YAML file's path, as in
    -- dask-kubernetes: loaded here (a source of the run) as `custom_cluster_spec`.
    local spec = type(values.cluster_kwargs) == "table" and values.cluster_kwargs.custom_cluster_spec
    if type(spec) == "string" then
      local ok, loaded = pcall(host.yaml_load_file, spec)
      if not ok then raise("DaskExecutor cluster_kwargs.custom_cluster_spec: %s", loaded) end
      object._loaded.custom_cluster_spec = loaded
    end
  end)

--------------------------------------------------------------------------------------------
-- Storage: where the flow's code comes from. A run's payload carries every source the
-- script loaded, so Local is what dkrun always does, and Docker describes the flow's image.

local NO_STORE = "dkrun stores no flows: it runs the script it is given (dkrun FILE), and the run's payload "
  .. "carries every source to wherever tasks run"

define_config("Local", "storage", "the flow's sources come from this machine: what dkrun always does",
  {
    refused("directory", NO_STORE),
    refused("path", NO_STORE),
    refused("stored_as_script", "dkrun flows are always scripts, never pickled, and dkrun stores none (see directory)"),
    refused("validate", "it checks directory, which dkrun has no use for (see directory)"),
  })

define_config("Docker", "storage",
  "the image `dkrun build` makes for the flow, which its Kubernetes runs use (docs/kubernetes.md)",
  fields_of(IMAGE_FIELDS, {
    field("base_image", "string", "the image `dkrun build` builds on; default dkrun's base image dkrun/dkrun:VERSION; "
      .. "any Debian-based image with python3"),
    field("dockerfile", "string", "a Dockerfile to build on instead of base_image (relative to the flow's directory)"),
    field("local_image", "boolean", "the image stays on this machine: `dkrun build` does not push it", false),
    field("ignore_healthchecks", "boolean", "leaves out the build's check that dkrun and the Python bridge run in "
      .. "the image", false),
    field("build_kwargs", "table", "options of `docker build`: buildargs, labels (tables), nocache, pull (booleans), "
      .. "network_mode, platform, target (strings)", {}),
  }),
  function(_, _, given)
    if given.dockerfile ~= nil and given.base_image ~= nil then
      raise("Docker.base_image: a dockerfile names its own base image (FROM): give dockerfile or base_image, not both")
    end
  end)

--------------------------------------------------------------------------------------------
-- Result locations (dk.results.*): where tasks keep results for checkpoints, targets and
-- caches (docs/results.md). Configuration objects of their own kind, under dk.results only
-- (dk.results.Local is not the storage Local).

CONFIG_KINDS.result = "a result location (dk.results.Local, dk.results.S3)"

local RESULT_FIELDS = {
  Local = { dir = "string" },
  S3 = { bucket = "string", prefix = "string", endpoint = "string", region = "string" },
}
local RESULT_REQUIRED = { Local = "dir", S3 = "bucket" }

dk.results = {}
for type_name, schema in pairs(RESULT_FIELDS) do
  dk.results[type_name] = function(given)
    if type(given) ~= "table" or getmetatable(given) ~= nil then
      raise("bad argument #1 to 'dk.results.%s' (table expected, got %s)", type_name, typename(given))
    end
    check_fields(given, schema, "bad argument #1 to 'dk.results." .. type_name .. "'")
    local required = RESULT_REQUIRED[type_name]
    if given[required] == nil or given[required] == "" then
      raise("bad argument #1 to 'dk.results.%s' (field '%s' is required)", type_name, required)
    end
    if given.endpoint ~= nil and not given.endpoint:match("^https?://[^/]") then
      raise("bad argument #1 to 'dk.results.S3' (field 'endpoint': an http:// or https:// URL expected, got %q)",
            given.endpoint)
    end
    local values = {}
    for k, v in pairs(given) do values[k] = v end
    return setmetatable({ _type = type_name, _kind = "result", _values = values, _loaded = {} }, Config)
  end
end

-- The flow's fields that hold configuration objects, with the check of each.
local FLOW_CONFIG = {
  environment = is_config("environment"), run_config = is_config("run_config"),
  executor = is_config("executor"), storage = is_config("storage"), result = is_config("result"),
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

-- A default as a Lua literal: 1, true, "threads", {}.
local function literal(v)
  if type(v) == "string" then return string.format("%q", v) end
  if type(v) == "table" then return "{}" end
  return tostring(v)
end

--- dk._config_fields(): every configuration type in order, as plain tables: type, kind,
--- about, and its fields (name, expects, default, does; or name and refused).
function dk._config_fields()
  local out = {}
  for i, d in ipairs(DEFINED) do
    local fields = {}
    for j, f in ipairs(d.fields) do
      if f.refused then
        fields[j] = { name = f.name, refused = f.refused }
      else
        fields[j] = { name = f.name, expects = expected_name(f.check), does = f.does,
                      default = f.default ~= nil and literal(f.default) or nil }
      end
    end
    out[i] = { type = d.type, kind = d.kind, about = d.about, fields = fields }
  end
  return out
end

internal.Config, internal.CONFIG_TYPES, internal.FLOW_CONFIG = Config, CONFIG_TYPES, FLOW_CONFIG
internal.config_value, internal.is_result = config_value, is_config("result")
