--- dk.shell: run a program (an argv list, no shell) and capture what it printed.
-- run(argv, {env=, clear_env=, cwd=, stdin=, timeout=, check=}) -> {code, stdout, stderr, timed_out}
-- env adds to (or, with clear_env, replaces) the environment; timeout stops the program and
-- everything it started (as the task's deadline does, which raises); check = true raises
-- unless the program exited 0.
local native = require("dk")._native

local shell = {}

local OPTIONS = { env = "table", clear_env = "boolean", cwd = "string", stdin = "string", timeout = "number", check = "boolean" }

function shell.run(argv, options)
  options = options or {}
  if type(argv) ~= "table" or #argv == 0 then
    error("bad argument #1 to 'run' (a list of strings expected: the program and its arguments)", 2)
  end
  for k, v in pairs(options) do
    if OPTIONS[k] == nil then error("bad argument #2 to 'run' (unknown option '" .. tostring(k) .. "')", 2) end
    if type(v) ~= OPTIONS[k] then error("bad argument #2 to 'run' (option '" .. k .. "': " .. OPTIONS[k] .. " expected, got " .. type(v) .. ")", 2) end
  end
  local env
  if options.env or options.clear_env then
    local merged = {}
    if not options.clear_env then
      for name, value in pairs(shell.environ()) do merged[name] = value end
    end
    for name, value in pairs(options.env or {}) do merged[name] = tostring(value) end
    env = {}
    for name, value in pairs(merged) do env[#env + 1] = name .. "=" .. value end
    table.sort(env)
  end
  local ok, result = pcall(native.run, argv, options.stdin, env, options.cwd, options.timeout)
  if not ok then error("dk.shell.run: " .. result, 2) end
  if options.check and (result.code ~= 0 or result.timed_out) then
    error(string.format("dk.shell.run: %s %s: %s", argv[1],
      result.timed_out and ("timed out after " .. options.timeout .. " s") or ("exited " .. result.code),
      result.stderr), 2)
  end
  return result
end

--- environ(): this process's environment as a table.
function shell.environ()
  return native.environ()
end

return shell
