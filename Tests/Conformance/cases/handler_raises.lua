-- A task state handler that raises an error fails the task (the error is logged).
-- From Prefect 1's tests/engine/test_task_runner.py::TestTaskStateHandlers::
-- test_task_handler_errors_are_logged and test_task_handler_that_has_error_is_trapped.
local function handler(t, old, new) error("oops") end

local guarded = task("guarded", { state_handlers = { handler } }, function() return 1 end)
local after = task("after", function(x) return x end)

return Flow("handler-raises", function()
  after(guarded())
end)
