-- A busy CPU loop longer than the task's timeout ends TimedOut; its downstream is TriggerFailed.
-- From Prefect 1's tests/engine/test_task_runner.py::test_task_runner_can_handle_timeouts_by_default
-- and tests/engine/test_flow_runner.py::test_timeout_actually_stops_execution.
local spin = task("spin", { timeout = 1 }, function()
  local deadline = dk.time.now() + 3
  local n = 0
  while dk.time.now() < deadline do n = n + 1 end
  return n
end)
local after = task("after", function(n) return n end)

return Flow("timeout-cpu-loop", function()
  after(spin())
end)
