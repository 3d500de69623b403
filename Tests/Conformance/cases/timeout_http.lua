-- A task waiting on an HTTP answer longer than its timeout ends TimedOut; the task after it is
-- TriggerFailed and an independent task still succeeds.
-- From Prefect 1's tests/engine/test_task_runner.py::test_task_runner_can_handle_timeouts_by_default,
-- with a request to a server that answers after 5 s (the runner's SlowServer, whose address is
-- in $CONFORMANCE_SLOW_URL) in place of the sleep.
local fetch = task("fetch", { timeout = 1 }, function()
  return dk.http.get(os.getenv("CONFORMANCE_SLOW_URL"), { timeout = 30 }).body
end)
local parse = task("parse", function(text) return text:match("^%s*(.-)%s*$") end)
local quick = task("quick", function() return "quick" end)

return Flow("timeout-http", function()
  parse(fetch())
  quick()
end)
