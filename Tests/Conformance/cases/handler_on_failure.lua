-- on_failure callbacks on a task and a flow run on failure and do not change any state.
-- From Prefect 1's tests/engine/test_task_runner.py::TestTaskStateHandlers::test_task_on_failure_is_called,
-- test_task_on_failure_is_not_called and test_task_on_trigger_failure_is_called, and the flow
-- runner's test_flow_on_failure_is_called.
-- Called with the task or flow and its failed state; returns nothing (it cannot change the state).
local function noted(obj, state)
  assert(state.state == "Failed" or state.state == "TriggerFailed", "on_failure called on " .. tostring(state.state))
end

local broken = task("broken", { on_failure = noted }, function() error("boom") end)
local downstream = task("downstream", { on_failure = noted }, function(x) return x end)
local fine = task("fine", { on_failure = noted }, function() return "fine" end)

return Flow("handler-on-failure", { on_failure = noted }, function()
  downstream(broken())
  fine()
end)
