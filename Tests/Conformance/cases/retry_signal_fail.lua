-- FAIL is retried like any failure: FAIL on the first run, success on the second.
-- From Prefect 1's tests/engine/test_task_runner.py::test_task_that_raises_fail_is_marked_fail and
-- the retry tests (check_for_retry applies to every Failed state but TriggerFailed).
local fail_once = task("fail_once", { max_retries = 1, retry_delay = 0 }, function()
  if dk.context.attempt == 1 then dk.fail("first run fails") end
  return "second run"
end)

return Flow("retry-signal-fail", function()
  fail_once()
end)
