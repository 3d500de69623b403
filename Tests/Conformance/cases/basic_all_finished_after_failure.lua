-- Prefect 1: tests/engine/test_flow_runner.py,
-- test_flow_runner_runs_flow_with_2_dependent_tasks_and_first_task_fails_and_second_has_trigger
-- (with all_finished; tests/test_triggers.py, test_all_finished_with_mixed_states).
local boom = task("boom", function() error("custom-error-message") end)
local fine = task("fine", function() return 1 end)
local cleanup = task("cleanup", { trigger = dk.triggers.all_finished }, function(a, b) return "cleaned" end)

return Flow("basic_all_finished_after_failure", function()
  cleanup(boom(), fine())
end)
