-- A paused child holds only what is behind it: the task mapped over its mapped task maps, the
-- child behind the paused one stays Pending, and a reduce after the mapped task waits whole.
-- From Prefect 1's tests/engine/test_flow_runner.py (upstream not finished: the task stays Pending)
-- and test_task_runner.py::test_task_runner_converts_pause_signal_to_paused_state_for_internally_raised_pauses,
-- on mapped children.
local check = task("check", function(x)
  if x == 2 then dk.pause("waiting for approval") end
  return x
end)
local each = task("each", function(x) return x * 10 end)
local total = task("total", function(xs) return #xs end)

return Flow("signal-pause-mapped-child", function()
  local checked = check:map({ 1, 2, 3 })
  each:map(checked)
  total(checked)
end)
