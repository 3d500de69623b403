-- A task raising PAUSE ends Paused; the flow does not finish (it waits for approval).
-- From Prefect 1's tests/engine/test_task_runner.py::
-- test_task_runner_converts_pause_signal_to_paused_state_for_internally_raised_pauses.
local start = task("start", function() return 1 end)
local wait_here = task("wait_here", function(x) dk.pause("waiting for approval") end)
local after = task("after", function(x) return "after" end)

return Flow("signal-pause", function()
  after(wait_here(start()))
end)
