-- A task_run_name template ("{x}-run") formatted from the inputs of every mapped child.
-- From Prefect 1's tests/engine/test_task_runner.py::TestTaskRunNames::test_task_runner_set_task_name.
-- Outside Prefect Cloud the name only reaches the context, so only states and results are compared.
local numbers = task("numbers", function() return { 1, 2 } end)
local named = task("named", { task_run_name = "{x}-run" }, function(x) return x * 10 end)

return Flow("context-task-run-name", function()
  named:map(numbers())
end)
