-- A task raising FAIL ends Failed (not TriggerFailed); its downstream is TriggerFailed.
-- From Prefect 1's tests/engine/test_task_runner.py::test_task_that_raises_fail_is_marked_fail.
local start = task("start", function() return 1 end)
local refuse = task("refuse", function(x) dk.fail("custom-fail-message") end)
local after = task("after", function(x) return x end)

return Flow("signal-fail", function()
  after(refuse(start()))
end)
