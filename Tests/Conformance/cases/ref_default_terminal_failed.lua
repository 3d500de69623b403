-- Prefect 1: tests/engine/test_flow_runner.py::
-- test_flow_runner_runs_basic_flow_with_2_dependent_tasks_and_first_task_fails
-- error_task fails, success_task is TriggerFailed; other_branch, also terminal, succeeds. One
-- terminal task failed: the flow Failed.
local error_task = dk.task("error_task", function() error("custom-error-message") end)
local success_task = dk.task("success_task", function() return 1 end)
local other_branch = dk.task("other_branch", function() return 2 end)

return Flow("ref_default_terminal_failed", function()
  success_task():set_upstream(error_task)
  other_branch()
end)
