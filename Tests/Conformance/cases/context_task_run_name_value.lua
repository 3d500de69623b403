-- The formatted task_run_name is in the context of each mapped child.
-- From Prefect 1's tests/engine/test_task_runner.py::TestTaskRunNames::
-- test_mapped_task_run_name_set_in_context (a template string instead of a function).
local data = task("data", function() return { 1, 2, 3 } end)
local hey = task("hey", { task_run_name = "hello-{input}" }, function(input)
  return dk.context.task_run_name
end)

return Flow("context-task-run-name-value", function()
  hey:map(data())
end)
