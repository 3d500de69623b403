-- A task state handler that returns a new state: a failure becomes Success with a result.
-- From Prefect 1's tests/engine/test_task_runner.py::TestTaskStateHandlers (handlers are called on
-- every change, Pending -> Running -> Failed, and their return value is the new state).
-- A state is a table { state = "Success", message = ..., result = ... }, as flow:run returns.
local function recover(t, old, new)
  if new.state == "Failed" then
    return { state = "Success", message = "recovered by the handler", result = "recovered" }
  end
  return new
end

local broken = task("broken", { state_handlers = { recover } }, function() error("boom") end)
local after = task("after", function(x) return x .. "!" end)

return Flow("handler-task-new-state", function()
  after(broken())
end)
