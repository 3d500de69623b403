-- A task waiting on a child process longer than its timeout ends TimedOut.
-- From Prefect 1's tests/engine/test_flow_runner.py::test_timeout_actually_stops_execution, with the
-- sleep in a subprocess.
local run_sleep = task("run_sleep", { timeout = 1 }, function()
  dk.shell.run({ "sleep", "3" }, { check = true })
  return "done"
end)

return Flow("timeout-subprocess", function()
  run_sleep()
end)
