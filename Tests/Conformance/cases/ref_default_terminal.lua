-- Prefect 1: tests/engine/test_flow_runner.py::
-- test_flow_runner_runs_flow_with_2_dependent_tasks_and_first_task_fails_and_second_has_trigger
-- error_task fails; success_task (all_failed) runs. Without reference tasks the terminal task
-- decides: the flow succeeds.
local error_task = dk.task("error_task", function() error("custom-error-message") end)
local success_task = dk.task("success_task", { trigger = dk.triggers.all_failed },
  function() return 1 end)

return Flow("ref_default_terminal", function()
  success_task():set_upstream(error_task)
end)
