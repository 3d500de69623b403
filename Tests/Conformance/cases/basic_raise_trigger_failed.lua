-- Prefect 1: tests/engine/test_flow_runner.py,
-- test_flow_runner_runs_basic_flow_with_2_dependent_tasks_and_first_task_fails.
local ok = task("ok", function() return "fine" end)
local boom = task("boom", function(x) error("custom-error-message") end)
local after = task("after", function(x) return "never" end)

return Flow("basic_raise_trigger_failed", function()
  after(boom(ok()))
end)
