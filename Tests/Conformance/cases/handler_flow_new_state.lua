-- A flow state handler that returns a new state: the failed flow ends Success.
-- From Prefect 1's tests/engine/test_flow_runner.py flow state handler tests (a handler's return
-- value is the flow's new state).
local function forgive(flow, old, new)
  if new.state == "Failed" then return { state = "Success", message = "forgiven by the flow handler" } end
  return new
end

local broken = task("broken", function() error("boom") end)
local fine = task("fine", function() return "fine" end)

return Flow("handler-flow-new-state", { state_handlers = { forgive } }, function()
  broken()
  fine()
end)
