-- What scripts see of the prelude: dk as a module and a global, task, Flow, Parameter and the
-- configuration types as globals, dk.version, require's searchers, and the standard library
-- loaded on first use as dk.<name>. Called as chunk(dk, host, internal) after flows.lua (see
-- checks.lua); shares STDLIB with the REPL.
local dk, host, internal = ...

package.loaded.dk = dk
_G.dk = dk
for _, name in ipairs { "task", "Flow", "Parameter" } do _G[name] = dk[name] end
for name in pairs(internal.CONFIG_TYPES) do _G[name] = dk[name] end
dk.version = host.version

-- require searches the flow's places (see `dkrun lib path`); the host records every source it
-- finds, so the payload carries it.
package.searchers = {
  package.searchers[1],  -- package.preload
  function(name)
    local source, chunkname = host.find_module(name)
    if source == nil then return chunkname end  -- the places searched; require adds "\n\t"
    local chunk, err = load(source, "@" .. chunkname, "t")
    if not chunk then error(string.format("error loading module '%s' from file '%s':\n\t%s", name, chunkname, err), 0) end
    return chunk, chunkname
  end,
}
package.cpath = ""

-- os.execute and io.popen start their command through dkrun, in a process group of its own, so
-- that a task's timeout and Ctrl-C stop it and all it started; os.exit ends dkrun only at the
-- script's top level and in the REPL, and fails a task that calls it (see ProcessFunctions).
os.execute = host.execute
os.exit = host.exit
function io.popen(command, mode) return host.popen(command, mode or "r") end

-- The standard library's modules (stdlib/dk/<name>.lua): `dk.json` and the like load their
-- module on first use, so `require` is optional for them. They use the natives in dk._native.
local STDLIB = { json = true, yaml = true, fs = true, time = true, shell = true, secrets = true, http = true }
dk._native = {
  json_encode = host.json_encode, json_decode = host.json_decode,
  yaml_load = host.yaml_load, yaml_load_file = host.yaml_load_file, yaml_dump = host.yaml_dump,
  list_directory = host.list_directory, file_kind = host.file_kind, sleep = host.sleep, now = host.now,
  run = host.run, environ = host.environ, secret = host.secret, http = host.http,
}
setmetatable(dk, { __index = function(_, name)
  if STDLIB[name] then return require("dk." .. name) end
end })

internal.STDLIB = STDLIB
