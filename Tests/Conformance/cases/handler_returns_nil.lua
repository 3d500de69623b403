-- A task state handler returning nothing keeps the state it was given.
-- From Prefect 1's tests/engine/test_task_runner.py::TestTaskStateHandlers::
-- test_task_handlers_can_return_none.
local function observe(t, old, new) end

local value = task("value", { state_handlers = { observe } }, function() return 42 end)
local broken = task("broken", { state_handlers = { observe } }, function(x) error("boom") end)

return Flow("handler-returns-nil", function()
  broken(value())
end)
