-- Prefect 1: tests/engine/test_task_runner.py, test_task_that_fails_gets_retried_up_to_max_retry_time;
-- tests/engine/test_flow_runner.py, TestRunCount test_run_count_tracked_via_retry_states.
local flaky = task("flaky", { max_retries = 2, retry_delay = 0 }, function()
  local attempt = dk.context.attempt
  if attempt < 3 then error("transient failure on attempt " .. attempt) end
  return "ok on attempt " .. attempt
end)
local always_fails = task("always_fails", { max_retries = 1, retry_delay = 0 }, function()
  error("failure on attempt " .. dk.context.attempt)
end)
local use = task("use", function(x) return x .. "!" end)

return Flow("basic_retries", function()
  use(flaky())
  always_fails()
end)
