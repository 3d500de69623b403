-- When a task with nout = 2 fails, the tasks using either of its values are TriggerFailed.
-- From Prefect 1's tests/core/test_task.py (nout) and tests/engine/test_flow_runner.py (a failed
-- upstream fails its downstream's trigger).
local pair = task("pair", { nout = 2 }, function() error("no pair today") end)
local first = task("first", function(a) return a end)
local second = task("second", function(b) return b end)

return Flow("nout-failed", function()
  local a, b = pair()
  first(a)
  second(b)
end)
