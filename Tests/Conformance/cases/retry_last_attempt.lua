-- A task failing on its first two runs succeeds on its last allowed attempt.
-- From Prefect 1's tests/engine/test_task_runner.py::test_task_that_fails_gets_retried_up_to_max_retry_time
-- (here the third run succeeds). dk.context.attempt is Prefect's task_run_count.
local flaky = task("flaky", { max_retries = 2, retry_delay = 0 }, function()
  local run = dk.context.attempt
  if run < 3 then error("transient failure on run " .. run) end
  return "ok on run " .. run
end)
local after = task("after", function(x) return x .. "!" end)

return Flow("retry-last-attempt", function()
  after(flaky())
end)
