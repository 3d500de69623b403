-- A state handler on a mapped task runs for every child: failed children become Success(0).
-- From Prefect 1's tests/engine/test_task_runner.py::TestTaskRunnerStateHandlers::
-- test_task_runner_handlers_are_called_on_mapped_parent and the task handler tests.
local function zero_on_failure(t, old, new)
  if new.state == "Failed" then
    return { state = "Success", message = "replaced by the handler", result = 0 }
  end
  return new
end

local numbers = task("numbers", function() return { 1, 2, 3 } end)
local picky = task("picky", { state_handlers = { zero_on_failure } }, function(x)
  if x == 2 then error("no twos") end
  return 10 * x
end)
local total = task("total", function(xs)
  local s = 0
  for _, x in ipairs(xs) do s = s + x end
  return s
end)

return Flow("handler-mapped", function()
  total(picky:map(numbers()))
end)
