-- A task that always fails uses up its retries and ends Failed; downstream is TriggerFailed.
-- From Prefect 1's tests/engine/test_task_runner.py::test_task_that_fails_gets_retried_up_to_max_retry_time.
local always_fails = task("always_fails", { max_retries = 2, retry_delay = 0 }, function()
  error("custom-error-message")
end)
local after = task("after", function(x) return x end)
local sibling = task("sibling", function() return "fine" end)

return Flow("retry-exhausted", function()
  after(always_fails())
  sibling()
end)
