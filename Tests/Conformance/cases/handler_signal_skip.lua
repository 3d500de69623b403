-- A task state handler may raise a signal: SKIP on failure makes the task Skipped.
-- From Prefect 1's tests/engine/test_task_runner.py::TestTaskStateHandlers::
-- test_task_handlers_respect_signals (which raises PAUSE the same way).
local function skip_failures(t, old, new)
  if new.state == "Failed" then dk.skip("skipped by the handler") end
  return new
end

local broken = task("broken", { state_handlers = { skip_failures } }, function() error("boom") end)
local after = task("after", function(x) return "ran" end)

return Flow("handler-signal-skip", function()
  after(broken())
end)
