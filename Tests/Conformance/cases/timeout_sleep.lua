-- A task sleeping longer than its timeout ends TimedOut; an independent task still succeeds.
-- From Prefect 1's tests/engine/test_task_runner.py::test_task_runner_can_handle_timeouts_by_default
-- (SlowTask sleeping past timeout=1).
local slow = task("slow", { timeout = 1 }, function()
  dk.time.sleep(3)
  return "woke up"
end)
local quick = task("quick", function() return "quick" end)

return Flow("timeout-sleep", function()
  slow()
  quick()
end)
